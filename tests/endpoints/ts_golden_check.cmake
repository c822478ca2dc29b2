# Runs `dormc gen --ts` on SCHEMA into WORK and compares <base>_endpoints.d.ts
# byte for byte with the golden copy in GOLDEN, then checks that a second run
# gives the same bytes. -DUPDATE=1 rewrites the golden copy:
#   cmake -DDORMC=build/compiler/dormc -DSCHEMA=$PWD/examples/streamer/report.dorm \
#         -DGOLDEN=$PWD/tests/endpoints/golden -DWORK=/tmp/g -DUPDATE=1 -P tests/endpoints/ts_golden_check.cmake
file(REMOVE_RECURSE ${WORK})
get_filename_component(name ${SCHEMA} NAME)
string(REGEX REPLACE "\\.dorm$" "" base ${name})
set(file ${base}_endpoints.d.ts)
foreach(dir ${WORK}/a ${WORK}/b)
  execute_process(COMMAND ${DORMC} gen --ts --out ${dir} ${SCHEMA} RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dormc gen --ts ${SCHEMA} failed (${rc})")
  endif()
endforeach()
file(GLOB written RELATIVE ${WORK}/a ${WORK}/a/*)
if(NOT written STREQUAL file)
  message(FATAL_ERROR "dormc gen --ts wrote '${written}', expected only ${file} (no C code)")
endif()
file(READ ${WORK}/a/${file} got)
file(READ ${WORK}/b/${file} again)
if(NOT got STREQUAL again)
  message(FATAL_ERROR "dormc gen --ts is not deterministic for ${file}")
endif()
if(UPDATE)
  configure_file(${WORK}/a/${file} ${GOLDEN}/${file} COPYONLY)
  return()
endif()
file(READ ${GOLDEN}/${file} want)
if(NOT got STREQUAL want)
  message(FATAL_ERROR "generated ${file} differs from ${GOLDEN}/${file}\n"
    "  diff -u ${GOLDEN}/${file} ${WORK}/a/${file}\n"
    "If the change is intended, refresh the golden file: "
    "cmake -DDORMC=... -DSCHEMA=${SCHEMA} -DGOLDEN=${GOLDEN} -DWORK=/tmp/g -DUPDATE=1 -P ts_golden_check.cmake")
endif()
