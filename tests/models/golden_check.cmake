# Runs `dormc gen` on SCHEMA into WORK and compares the outputs byte for byte
# with the golden copies in GOLDEN. -DUPDATE=1 rewrites the golden copies.
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${DORMC} gen --out ${WORK} ${SCHEMA} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dormc gen ${SCHEMA} failed (${rc})")
endif()
get_filename_component(name ${SCHEMA} NAME)
string(REGEX REPLACE "\\.dorm$" "" base ${name})
foreach(ext h c)
  set(out ${WORK}/${base}_models.${ext})
  set(gold ${GOLDEN}/${base}_models.${ext})
  if(UPDATE)
    configure_file(${out} ${gold} COPYONLY)
    continue()
  endif()
  file(READ ${out} got)
  file(READ ${gold} want)
  if(NOT got STREQUAL want)
    message(FATAL_ERROR "generated ${base}_models.${ext} differs from ${gold}\n"
      "  diff -u ${gold} ${out}\n"
      "If the change is intended, refresh the golden files: "
      "cmake -DDORMC=... -DSCHEMA=${SCHEMA} -DGOLDEN=${GOLDEN} -DWORK=/tmp/g -DUPDATE=1 -P golden_check.cmake")
  endif()
endforeach()
# Determinism: a second run gives the same bytes.
execute_process(COMMAND ${DORMC} gen --out ${WORK}/again ${SCHEMA} RESULT_VARIABLE rc)
foreach(ext h c)
  file(READ ${WORK}/${base}_models.${ext} a)
  file(READ ${WORK}/again/${base}_models.${ext} b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "dormc gen is not deterministic for ${base}_models.${ext}")
  endif()
endforeach()
