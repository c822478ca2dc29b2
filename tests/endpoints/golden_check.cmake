# Runs `dormc gen --stubs` on SCHEMA into WORK and compares the endpoint code
# (<base>_endpoints.h/.c) and the handler stubs (<base>_handlers.c) byte for
# byte with the golden copies in GOLDEN. -DUPDATE=1 rewrites the golden copies:
#   cmake -DDORMC=build/compiler/dormc -DSCHEMA=$PWD/schemas/endpoints.dorm \
#         -DGOLDEN=$PWD/tests/endpoints/golden -DWORK=/tmp/g -DUPDATE=1 -P tests/endpoints/golden_check.cmake
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${DORMC} gen --out ${WORK} --stubs ${WORK}/stubs ${SCHEMA} RESULT_VARIABLE rc
  OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dormc gen ${SCHEMA} failed (${rc})")
endif()
get_filename_component(name ${SCHEMA} NAME)
string(REGEX REPLACE "\\.dorm$" "" base ${name})
set(outputs ${base}_endpoints.h ${base}_endpoints.c stubs/${base}_handlers.c)
foreach(rel IN LISTS outputs)
  set(out ${WORK}/${rel})
  get_filename_component(file ${rel} NAME)
  set(gold ${GOLDEN}/${file})
  if(UPDATE)
    configure_file(${out} ${gold} COPYONLY)
    continue()
  endif()
  file(READ ${out} got)
  file(READ ${gold} want)
  if(NOT got STREQUAL want)
    message(FATAL_ERROR "generated ${file} differs from ${gold}\n"
      "  diff -u ${gold} ${out}\n"
      "If the change is intended, refresh the golden files: "
      "cmake -DDORMC=... -DSCHEMA=${SCHEMA} -DGOLDEN=${GOLDEN} -DWORK=/tmp/g -DUPDATE=1 -P golden_check.cmake")
  endif()
endforeach()
# Determinism: a second run gives the same bytes.
execute_process(COMMAND ${DORMC} gen --out ${WORK}/again --stubs ${WORK}/again/stubs ${SCHEMA}
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dormc gen ${SCHEMA} failed the second time (${rc})")
endif()
foreach(rel IN LISTS outputs)
  file(READ ${WORK}/${rel} a)
  file(READ ${WORK}/again/${rel} b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "dormc gen is not deterministic for ${rel}")
  endif()
endforeach()
