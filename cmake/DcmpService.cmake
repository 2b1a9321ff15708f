# DcmpService.cmake -- builds dcm-processor service libraries, inside the project's build or in a
# service's own (standalone) build, with the same calls.
#
# A service's CMakeLists.txt:
#
#   cmake_minimum_required(VERSION 3.18)
#   if(NOT COMMAND dcmp_service)              # inside the dcm-processor build it is defined
#     project(dcmp-mysvc-service C)
#     include(DcmpService)                    # found through CMAKE_MODULE_PATH (service.sh
#   endif()                                   # passes <checkout>/cmake), or include() its path
#   dcmp_service_begin(mysvc)
#   dcmp_service(mysvc_registry PART registry NAME mysvc SOURCES registry/callback.c)
#   dcmp_service(mysvc_module PART module NAME mysvc SOURCES module/worker.c)
#   dcmp_service_files(PART registry FILES registry/settings.json)
#
# Inside the project every part lands in ${DCMP_SERVICES_OUT}/<service>/<part>/ (what the
# project installs and the tests use). Standalone it lands in the build folder and
# `cmake --install build --prefix OUT` fills OUT/registry and OUT/module: the layout
# `service.sh install NAME -p OUT` takes (service.sh does all of this for a folder with a
# CMakeLists.txt). Standalone, the headers are looked for beside this file (a checkout's
# include/) unless DCMP_INCLUDE_DIR names them, and the target dcmp_svc (services/common/:
# paths inside DATA, trees, JSON) is made from the checkout's sources.
include_guard(GLOBAL)

if(DEFINED DCMP_SERVICES_OUT)
  set(DCMP_SERVICE_STANDALONE OFF)
else()
  set(DCMP_SERVICE_STANDALONE ON)
  add_compile_definitions(_GNU_SOURCE) # as the project's own build
endif()

# The service ABI header: DCMP_INCLUDE_DIR (service.sh gives it), else the checkout's.
find_path(DCMP_INCLUDE_DIR dcmp/service.h HINTS ${CMAKE_CURRENT_LIST_DIR}/../include
  NO_DEFAULT_PATH)
find_path(DCMP_INCLUDE_DIR dcmp/service.h)
if(NOT DCMP_INCLUDE_DIR OR NOT EXISTS ${DCMP_INCLUDE_DIR}/dcmp/service.h)
  message(FATAL_ERROR "dcmp/service.h not found: give -DDCMP_INCLUDE_DIR=<the include folder "
    "of a dcm-processor checkout>")
endif()

if(NOT TARGET PkgConfig::CJSON)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET GLOBAL libcjson)
endif()

# dcmp_svc: the helpers the shipped services link statically (services/common/).
set(DCMP_SERVICE_COMMON ${CMAKE_CURRENT_LIST_DIR}/../services/common)
if(NOT TARGET dcmp_svc AND EXISTS ${DCMP_SERVICE_COMMON}/svc.c)
  add_library(dcmp_svc STATIC ${DCMP_SERVICE_COMMON}/svc.c ${DCMP_SERVICE_COMMON}/holdmark.c)
  set_target_properties(dcmp_svc PROPERTIES POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden)
  target_include_directories(dcmp_svc PUBLIC ${DCMP_SERVICE_COMMON} ${DCMP_INCLUDE_DIR})
  target_link_libraries(dcmp_svc PUBLIC PkgConfig::CJSON ${CMAKE_DL_LIBS})
endif()

# dcmp_service_begin(NAME): the service whose parts the next calls build; sets
# DCMP_SERVICE_OUT, the folder holding its registry/ and module/ in this build.
macro(dcmp_service_begin name)
  set(DCMP_SERVICE ${name})
  if(DCMP_SERVICE_STANDALONE)
    set(DCMP_SERVICE_OUT ${CMAKE_BINARY_DIR}/${name})
  else()
    set(DCMP_SERVICE_OUT ${DCMP_SERVICES_OUT}/${name})
  endif()
endmacro()

# dcmp_service(TARGET PART registry|module [DIR sub] NAME file SOURCES src...): a service
# library <part>/[<sub>/]<file>.so (a MODULE, no "lib" prefix, only the descriptor exported).
function(dcmp_service target)
  cmake_parse_arguments(S "" "PART;DIR;NAME" "SOURCES" ${ARGN})
  if(NOT DCMP_SERVICE)
    message(FATAL_ERROR "dcmp_service(${target}): call dcmp_service_begin(NAME) first")
  endif()
  if(NOT S_PART MATCHES "^(registry|module)$" OR NOT S_NAME OR NOT S_SOURCES)
    message(FATAL_ERROR "dcmp_service(${target}): PART registry|module, NAME and SOURCES")
  endif()
  set(rel ${S_PART})
  if(S_DIR)
    set(rel ${S_PART}/${S_DIR})
  endif()
  add_library(${target} MODULE ${S_SOURCES})
  target_include_directories(${target} PRIVATE ${DCMP_INCLUDE_DIR})
  set_target_properties(${target} PROPERTIES PREFIX "" OUTPUT_NAME ${S_NAME}
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${DCMP_SERVICE_OUT}/${rel})
  if(DCMP_SERVICE_STANDALONE)
    install(TARGETS ${target} LIBRARY DESTINATION ${rel})
  endif()
endfunction()

# dcmp_service_files(PART registry|module [DIR sub] [FILES f...] [DIRECTORY d]): files the
# service needs beside its libraries (settings.json, a config folder), copied at configure time.
function(dcmp_service_files)
  cmake_parse_arguments(S "" "PART;DIR;DIRECTORY" "FILES" ${ARGN})
  set(rel ${S_PART})
  if(S_DIR)
    set(rel ${S_PART}/${S_DIR})
  endif()
  foreach(f ${S_FILES})
    get_filename_component(base ${f} NAME)
    configure_file(${f} ${DCMP_SERVICE_OUT}/${rel}/${base} COPYONLY)
  endforeach()
  if(S_DIRECTORY)
    get_filename_component(base ${S_DIRECTORY} NAME)
    file(GLOB_RECURSE copied CONFIGURE_DEPENDS RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}/${S_DIRECTORY}
      ${CMAKE_CURRENT_SOURCE_DIR}/${S_DIRECTORY}/*)
    foreach(f ${copied})
      configure_file(${S_DIRECTORY}/${f} ${DCMP_SERVICE_OUT}/${rel}/${base}/${f} COPYONLY)
    endforeach()
  endif()
  if(DCMP_SERVICE_STANDALONE)
    if(S_FILES)
      install(FILES ${S_FILES} DESTINATION ${rel})
    endif()
    if(S_DIRECTORY)
      install(DIRECTORY ${S_DIRECTORY} DESTINATION ${rel})
    endif()
  endif()
endfunction()
