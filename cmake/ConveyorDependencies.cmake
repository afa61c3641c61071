# Every dependency is a Debian 12 package (see README.md); nothing is fetched.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED)
# OpenSSL is linked statically (Debian's libssl-dev ships libssl.a and libcrypto.a): its shared
# libraries are built with immediate binding, and their ~4,000 symbol bindings were a third of
# every conveyor start, also of runs that never open a TLS connection. libpq and libnats, loaded
# with dlopen, bring their own shared OpenSSL when they are used.
set(OPENSSL_USE_STATIC_LIBS TRUE)
find_package(OpenSSL REQUIRED)
# zlib, zstd, RE2 and hiredis are linked statically too (their -dev packages ship the .a): each
# shared library is one more object for the dynamic loader to map, relocate and bind at every
# start, for code most runs never call (see conveyor_link_static below).
set(ZLIB_USE_STATIC_LIBS TRUE)
find_package(ZLIB REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(simdjson REQUIRED)

# toml++ is header-only in Debian; compiled once in lib/src/config/toml_impl.cpp.
find_path(TOMLPP_INCLUDE_DIR toml++/toml.h REQUIRED)
add_library(conveyor_tomlpp INTERFACE)
target_include_directories(conveyor_tomlpp SYSTEM INTERFACE ${TOMLPP_INCLUDE_DIR})
target_compile_definitions(conveyor_tomlpp INTERFACE TOML_HEADER_ONLY=0 TOML_EXCEPTIONS=0)

# Asio/Beast: used only inside exec/, net/ and the http plugin.
add_library(conveyor_asio INTERFACE)
target_link_libraries(conveyor_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(conveyor_asio INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_COROUTINE BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION)

# RE2 (Debian libre2-dev) ships only a pkg-config file: regular expressions of the expression
# language (=~, regex_replace, ...), linear-time matching whatever the pattern.
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)

# Points a pkg-config target at the static archive of the same package instead of the shared
# library (pkg-config names only the latter); `extra` are the libraries the archive needs.
function(conveyor_link_static target archive)
  find_library(${target}_STATIC_ARCHIVE NAMES ${archive} REQUIRED)
  set_property(TARGET PkgConfig::${target} PROPERTY INTERFACE_LINK_LIBRARIES
    ${${target}_STATIC_ARCHIVE} ${ARGN})
  set_property(TARGET PkgConfig::${target} PROPERTY INTERFACE_LINK_OPTIONS "")
  set_property(TARGET PkgConfig::${target} PROPERTY INTERFACE_LINK_DIRECTORIES "")
endfunction()
conveyor_link_static(RE2 libre2.a Threads::Threads)

# zstd (Debian libzstd-dev, pkg-config only): reading and writing .zst files alongside gzip
# (zlib); the reference implementation, streaming with bounded windows.
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
conveyor_link_static(ZSTD libzstd.a Threads::Threads)

# libpq (Debian libpq-dev): PostgreSQL's official client library, for postgres.read/write
# (COPY, server-side cursors); used only inside plugins/postgres.
# The plugin compiles against libpq-fe.h but loads libpq.so.5 with dlopen when a postgres stage
# first needs it (plugins/postgres/pg_api.hpp): linked, libpq and the twenty libraries it pulls
# in (Kerberos, LDAP, GnuTLS, SASL) would cost every conveyor start about a millisecond.
pkg_check_modules(PQ REQUIRED libpq)
add_library(conveyor_libpq_headers INTERFACE)
target_include_directories(conveyor_libpq_headers SYSTEM INTERFACE ${PQ_INCLUDE_DIRS})
target_link_libraries(conveyor_libpq_headers INTERFACE ${CMAKE_DL_LIBS})

# SQLite (Debian libsqlite3-dev): the official library, for sqlite.read/write; used only
# inside plugins/sqlite.
# Linked statically (libsqlite3.a, same package): the shared library's 1,600 symbol bindings
# cost every start about a quarter of a millisecond.
pkg_check_modules(SQLITE3 REQUIRED sqlite3)
find_library(SQLITE3_STATIC_LIBRARY NAMES libsqlite3.a REQUIRED)
add_library(conveyor_sqlite3 INTERFACE)
target_include_directories(conveyor_sqlite3 SYSTEM INTERFACE ${SQLITE3_INCLUDE_DIRS})
target_link_libraries(conveyor_sqlite3 INTERFACE ${SQLITE3_STATIC_LIBRARY} Threads::Threads
  ${CMAKE_DL_LIBS} m)

# Work queues (lib/src/queue): Redis Streams through hiredis.
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
conveyor_link_static(HIREDIS libhiredis.a)
# ... and NATS JetStream through the NATS C client, compiled against nats/nats.h but loaded
# with dlopen when a nats:// queue is first opened (lib/src/queue/nats_api.hpp): linked, libnats
# brings OpenSSL's shared libraries back into every start (see below).
pkg_check_modules(NATS REQUIRED libnats)
add_library(conveyor_libnats_headers INTERFACE)
target_include_directories(conveyor_libnats_headers SYSTEM INTERFACE ${NATS_INCLUDE_DIRS})
target_link_libraries(conveyor_libnats_headers INTERFACE ${CMAKE_DL_LIBS})
