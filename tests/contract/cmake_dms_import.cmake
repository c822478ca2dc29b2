# cmake -DDORMC=... -DIN=file.yml -DOUT=file.dorm -P cmake_dms_import.cmake
# `dormc dms import` into OUT, written only when dormc succeeds (so a failed
# import never leaves a half-written schema behind for the next build).
execute_process(COMMAND ${DORMC} dms import ${IN}
  OUTPUT_VARIABLE dorm ERROR_VARIABLE diag RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dormc dms import ${IN} failed (${rc}):\n${diag}")
endif()
if(diag)
  message("${diag}")
endif()
file(WRITE ${OUT}.tmp "${dorm}")
file(RENAME ${OUT}.tmp ${OUT})
