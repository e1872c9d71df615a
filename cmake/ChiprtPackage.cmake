# CPack: `cpack -G DEB` in the build directory makes chiprt_<version>_<arch>.deb, installed
# under /usr (the CLI, the device process, headers, static libraries, CMake and pkg-config
# files, example images).
set(CPACK_PACKAGE_NAME chiprt)
set(CPACK_PACKAGE_VENDOR chiprt)
set(CHIPRT_PACKAGE_MAINTAINER "chiprt maintainers <chiprt@localhost>" CACHE STRING
  "Maintainer field of the .deb")
set(CPACK_PACKAGE_CONTACT "${CHIPRT_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Runtime for a simulated AI chip: CLI, device process and host library")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Strips the executables and shared objects (static libraries keep their symbols).
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME chiprt)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# The shared libraries bin/chiprt and libexec/chiprt/chiprt-device load, as dpkg-shlibdeps
# names them on Debian 12 (libspdlog1.10 provides libspdlog1.10-fmt9).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libc6 (>= 2.34), libelf1 (>= 0.144), libfmt9 (>= 9.1.0+ds1), libgcc-s1 (>= 3.0), \
libspdlog1.10-fmt9, libstdc++6 (>= 12), libtbb12 (>= 2021.4.0), libxxhash0 (>= 0.8.0-2~), \
libgvc6 (>= 2.42.2), libcgraph6 (>= 2.42.2)")
# What a program that links the static library (find_package / pkg-config) needs.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
  "libfmt-dev, libspdlog-dev, libelf-dev, libxxhash-dev, pkg-config")

include(CPack)
