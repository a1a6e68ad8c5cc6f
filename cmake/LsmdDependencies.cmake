# Every dependency is a Debian 12 package; a missing one stops configuration
# with the apt-get line that installs it.

function(lsmd_require found package)
  if(NOT ${found})
    message(FATAL_ERROR "lsmd: missing dependency. Install it with:\n"
                        "  apt-get install -y ${package}")
  endif()
endfunction()

# Boost 1.81 ships a CMake config; the unversioned Debian packages pull 1.74.
find_package(Boost 1.81 CONFIG COMPONENTS json program_options)
lsmd_require(Boost_FOUND "libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev")

find_package(Threads REQUIRED)

find_package(spdlog CONFIG QUIET)
lsmd_require(spdlog_FOUND libspdlog-dev)

# TLS on the server's TLS ports and in lsmd --check --check-tls (Asio's SSL
# streams over Debian's OpenSSL 3).
find_package(OpenSSL 3 QUIET COMPONENTS SSL)
lsmd_require(OpenSSL_FOUND libssl-dev)

find_path(XXHASH_INCLUDE_DIR xxhash.h)
find_library(XXHASH_LIBRARY xxhash)
if(XXHASH_INCLUDE_DIR AND XXHASH_LIBRARY)
  set(XXHASH_FOUND TRUE)
endif()
lsmd_require(XXHASH_FOUND libxxhash-dev)
add_library(lsmd_xxhash INTERFACE)
target_include_directories(lsmd_xxhash INTERFACE ${XXHASH_INCLUDE_DIR})
target_link_libraries(lsmd_xxhash INTERFACE ${XXHASH_LIBRARY})

if(LSMD_BUILD_TESTS)
  find_package(doctest CONFIG QUIET)
  lsmd_require(doctest_FOUND doctest-dev)
endif()
