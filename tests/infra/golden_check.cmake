# Runs `dormc gen --infra` on SCHEMA into WORK and compares the template with
# the golden copy in GOLDEN byte for byte. -DUPDATE=1 rewrites the golden copy:
#   cmake -DDORMC=build/compiler/dormc -DSCHEMA=$PWD/examples/streamer/report.dorm \
#         -DGOLDEN=$PWD/tests/infra/golden -DWORK=/tmp/g -DUPDATE=1 -P tests/infra/golden_check.cmake
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${DORMC} gen --infra ${WORK} ${SCHEMA} RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dormc gen --infra ${SCHEMA} failed (${rc})")
endif()
get_filename_component(base ${SCHEMA} NAME_WE)
set(out ${WORK}/${base}.template.json)
set(gold ${GOLDEN}/${base}.template.json)
if(UPDATE)
  configure_file(${out} ${gold} COPYONLY)
  return()
endif()
file(READ ${out} got)
file(READ ${gold} want)
if(NOT got STREQUAL want)
  message(FATAL_ERROR "generated ${base}.template.json differs from ${gold}\n"
    "  diff -u ${gold} ${out}\n"
    "If the change is intended, refresh the golden file: "
    "cmake -DDORMC=... -DSCHEMA=${SCHEMA} -DGOLDEN=${GOLDEN} -DWORK=/tmp/g -DUPDATE=1 -P golden_check.cmake")
endif()
