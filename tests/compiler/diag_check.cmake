# One diagnostics case: runs `dormc check NAME.dorm` in DIR (so paths in the
# output are relative) and compares stderr with NAME.expected byte for byte.
# The expected exit status is 1 when the expected text has an error, else 0.
# Usage: cmake -DDORMC=<dormc> -DDIR=<folder> -DNAME=<case> -P diag_check.cmake
execute_process(
  COMMAND ${DORMC} check ${NAME}.dorm
  WORKING_DIRECTORY ${DIR}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT EXISTS ${DIR}/${NAME}.expected)
  message(FATAL_ERROR "${NAME}.expected is missing; dormc printed:\n${err}")
endif()
file(READ ${DIR}/${NAME}.expected expected)
string(FIND "${expected}" ": error:" has_error)
if(has_error EQUAL -1)
  set(want 0)
else()
  set(want 1)
endif()
if(NOT "${err}" STREQUAL "${expected}")
  message(FATAL_ERROR "${NAME}: stderr differs from ${NAME}.expected\n--- expected\n${expected}--- got\n${err}---")
endif()
if(NOT "${rc}" STREQUAL "${want}")
  message(FATAL_ERROR "${NAME}: exit status ${rc}, expected ${want}")
endif()
if(NOT "${out}" STREQUAL "")
  message(FATAL_ERROR "${NAME}: unexpected output on stdout:\n${out}")
endif()
