# Install rules, the CMake package (find_package(chiprt CONFIG) -> chiprt::chiprt) and chiprt.pc.
#
# Layout under the install prefix:
#   bin/chiprt                          the CLI
#   libexec/chiprt/chiprt-device        the device process (chiprt-sandbox, the hbg orchestration
#                                       sandbox, beside it); bin/chiprt finds it as
#                                       <program dir>/../libexec/chiprt/chiprt-device
#   include/chiprt/{,abi/}*.h           public headers
#   lib/libchiprt_core.a, lib/libchiprt_common.a
#   lib/cmake/chiprt/                   chiprtConfig.cmake, version file, exported targets
#   lib/pkgconfig/chiprt.pc
#   share/chiprt/examples/*.chipimg     the packed example images
#   share/chiprt/examples/so/*.so       their orchestrations and kernels
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CHIPRT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/chiprt)

# The libraries name their headers by source path; exported, they name the installed ones.
function(chiprt_relocatable_includes target)
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  set(fixed "")
  foreach(dir IN LISTS dirs)
    if(dir MATCHES "^\\$<" OR NOT IS_ABSOLUTE "${dir}")
      list(APPEND fixed "${dir}")
    else()
      list(APPEND fixed "$<BUILD_INTERFACE:${dir}>")
    endif()
  endforeach()
  list(APPEND fixed "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  list(REMOVE_DUPLICATES fixed)
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${fixed}")
endfunction()
chiprt_relocatable_includes(chiprt_common)
chiprt_relocatable_includes(chiprt_core)

# The one library target consumers link: the host library and what it shares with the device.
add_library(chiprt_lib INTERFACE)
target_link_libraries(chiprt_lib INTERFACE chiprt_core chiprt_common)
set_target_properties(chiprt_lib PROPERTIES EXPORT_NAME chiprt)
add_library(chiprt::chiprt ALIAS chiprt_lib)

install(TARGETS chiprt_lib chiprt_core chiprt_common
  EXPORT chiprtTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS chiprt_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Not exported: a program finds it at run time (see the README's "Install and package").
install(TARGETS chiprt-device chiprt-sandbox RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/chiprt)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/chiprt
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(EXPORT chiprtTargets NAMESPACE chiprt:: DESTINATION ${CHIPRT_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/chiprtConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/chiprtConfig.cmake
  INSTALL_DESTINATION ${CHIPRT_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_LIBEXECDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/chiprtConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/chiprtConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/chiprtConfigVersion.cmake
  DESTINATION ${CHIPRT_CMAKE_DIR})

# chiprt.pc finds its prefix from its own place, so it holds under any --prefix.
file(RELATIVE_PATH CHIPRT_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" CHIPRT_PC_TO_PREFIX "${CHIPRT_PC_TO_PREFIX}")
set(CHIPRT_PC_LIBS_PRIVATE "-l${CMAKE_DL_LIBS} -pthread")
configure_file(${CMAKE_CURRENT_LIST_DIR}/chiprt.pc.in ${PROJECT_BINARY_DIR}/cmake/chiprt.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/chiprt.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The packed example images and the shared objects they were packed from (`chiprt churn` and
# `chiprt bench` read the latter: --examples or CHIPRT_EXAMPLES=<prefix>/share/chiprt/examples/so).
set(CHIPRT_EXAMPLES_DIR ${CMAKE_INSTALL_DATADIR}/chiprt/examples)
foreach(example vector matmul softmax attention layered_dag tiled_wavefront)
  if(TARGET image_${example})
    install(FILES ${PROJECT_BINARY_DIR}/examples/${example}.chipimg
      DESTINATION ${CHIPRT_EXAMPLES_DIR})
    install(TARGETS orch_${example} LIBRARY DESTINATION ${CHIPRT_EXAMPLES_DIR}/so)
  endif()
endforeach()
foreach(kernel add add_scalar mul matmul softmax_rows bias_relu empty mark)
  if(TARGET kernel_${kernel})
    install(TARGETS kernel_${kernel} LIBRARY DESTINATION ${CHIPRT_EXAMPLES_DIR}/so)
  endif()
endforeach()
