# dorm_generate(TARGET <name> SCHEMAS <file.dorm>... [OUT_DIR <dir>] [ENDPOINTS [TS_OUT_DIR <dir>]])
#
# Generates the C model code of each schema with `dormc gen` and builds it
# into the static library <name>, which links libdorm and exposes the
# generated headers (<schema>_models.h). List every schema whose types you
# use, imported ones included. Editing a schema or anything it imports
# regenerates (dormc writes a depfile); an unchanged build regenerates
# nothing.
#
# ENDPOINTS: the schemas declare streamer endpoints; the library also holds
# each one's <schema>_endpoints.c (header <schema>_endpoints.h: payload
# structs, handler prototypes, the route table) and libdorm's streamer
# comes with it. The handlers themselves are yours: write them in your
# program (`dormc gen --stubs DIR` writes empty ones to start from, and
# nothing else: generated headers in your sources would shadow the build's).
# A schema without endpoints goes in a dorm_generate() of its own; a schema
# with endpoints in one without ENDPOINTS gets a warning at configure time.
#
# TS_OUT_DIR (with ENDPOINTS): also write <dir>/<schema>_endpoints.d.ts,
# the TypeScript declarations of the endpoints (`dormc gen --ts`) for a web
# client, whenever the library is built.
#
#   add_subdirectory(dorm)          # or: find_package(dorm REQUIRED) after installing it
#   dorm_generate(TARGET shop_models SCHEMAS schemas/shop.dorm)
#   target_link_libraries(app PRIVATE shop_models)
#
#   dorm_generate(TARGET report_api SCHEMAS report.dorm ENDPOINTS)
#   add_executable(report-server main.c report_handlers.c)
#   target_link_libraries(report-server PRIVATE report_api)
#
# The dormc used is DORMC_EXECUTABLE when set, else the target `dormc` of
# this build (add_subdirectory), else the installed `dorm::dormc` (find_package).
function(dorm_generate)
  cmake_parse_arguments(DG "ENDPOINTS" "TARGET;OUT_DIR;TS_OUT_DIR" "SCHEMAS" ${ARGN})
  if(NOT DG_TARGET)
    message(FATAL_ERROR "dorm_generate: TARGET is required")
  endif()
  if(NOT DG_SCHEMAS)
    message(FATAL_ERROR "dorm_generate(${DG_TARGET}): SCHEMAS is required")
  endif()
  if(DG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dorm_generate(${DG_TARGET}): unknown arguments ${DG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT DG_OUT_DIR)
    set(DG_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/dorm_generated/${DG_TARGET})
  endif()
  if(DG_TS_OUT_DIR AND NOT DG_ENDPOINTS)
    message(FATAL_ERROR "dorm_generate(${DG_TARGET}): TS_OUT_DIR declares endpoints: it needs ENDPOINTS")
  endif()
  if(DORMC_EXECUTABLE)
    set(dormc_cmd ${DORMC_EXECUTABLE})
    set(dormc_dep ${DORMC_EXECUTABLE})
  elseif(TARGET dormc)
    set(dormc_cmd $<TARGET_FILE:dormc>)
    set(dormc_dep dormc)
  elseif(TARGET dorm::dormc)
    set(dormc_cmd $<TARGET_FILE:dorm::dormc>)
    set(dormc_dep dorm::dormc)
  else()
    message(FATAL_ERROR "dorm_generate: no dormc (add_subdirectory(dorm) or find_package(dorm) first, or set DORMC_EXECUTABLE)")
  endif()

  file(MAKE_DIRECTORY ${DG_OUT_DIR})
  set(sources)
  foreach(schema IN LISTS DG_SCHEMAS)
    get_filename_component(abs ${schema} ABSOLUTE)
    get_filename_component(name ${abs} NAME)
    string(REGEX REPLACE "\\.dorm$" "" base ${name})
    set(outputs ${DG_OUT_DIR}/${base}_models.c ${DG_OUT_DIR}/${base}_models.h)
    if(DG_ENDPOINTS)
      list(APPEND outputs ${DG_OUT_DIR}/${base}_endpoints.c ${DG_OUT_DIR}/${base}_endpoints.h)
    else()
      # Without ENDPOINTS the endpoint code is not built, yet its header is
      # generated and found: a program then fails to link on the route table
      # (undefined <ns>_endpoints) with nothing saying why. Say it here.
      # (a schema made at build time, e.g. by `dormc dms import`, is not there yet)
      set(endpoint_lines "")
      if(EXISTS ${abs})
        file(STRINGS ${abs} endpoint_lines REGEX "^[ \t]*endpoint[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]+(sync|async)")
      endif()
      if(endpoint_lines)
        message(WARNING "dorm_generate(${DG_TARGET}): ${name} declares endpoints but ENDPOINTS is not given: "
                        "${base}_endpoints.c (the handlers' glue and the route table) is not built into "
                        "${DG_TARGET}, and a program using it fails to link; add ENDPOINTS")
      endif()
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${dormc_cmd} gen --out ${DG_OUT_DIR} --depfile ${DG_OUT_DIR}/${base}_models.d ${abs}
      DEPENDS ${dormc_dep} ${abs}
      DEPFILE ${DG_OUT_DIR}/${base}_models.d
      COMMENT "dormc gen ${name}"
      VERBATIM)
    list(APPEND sources ${outputs})
    if(DG_TS_OUT_DIR)
      file(MAKE_DIRECTORY ${DG_TS_OUT_DIR})
      add_custom_command(
        OUTPUT ${DG_TS_OUT_DIR}/${base}_endpoints.d.ts
        COMMAND ${dormc_cmd} gen --ts --out ${DG_TS_OUT_DIR} --depfile ${DG_OUT_DIR}/${base}_ts.d ${abs}
        DEPENDS ${dormc_dep} ${abs}
        DEPFILE ${DG_OUT_DIR}/${base}_ts.d
        COMMENT "dormc gen --ts ${name}"
        VERBATIM)
      list(APPEND ts_outputs ${DG_TS_OUT_DIR}/${base}_endpoints.d.ts)
    endif()
  endforeach()
  add_library(${DG_TARGET} STATIC ${sources})
  if(ts_outputs)
    add_custom_target(${DG_TARGET}_ts DEPENDS ${ts_outputs})
    add_dependencies(${DG_TARGET} ${DG_TARGET}_ts)
  endif()
  target_include_directories(${DG_TARGET} PUBLIC ${DG_OUT_DIR})
  if(TARGET dorm::dorm)
    target_link_libraries(${DG_TARGET} PUBLIC dorm::dorm)
  else()
    target_link_libraries(${DG_TARGET} PUBLIC dorm)
  endif()
  set_target_properties(${DG_TARGET} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
endfunction()
