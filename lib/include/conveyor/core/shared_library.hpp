#pragma once

#include "conveyor/core/result.hpp"

#include <string>
#include <string_view>

namespace conveyor {

/// A shared library loaded with dlopen when a stage or command first needs it, kept for the
/// life of the process (client libraries keep state of their own: TLS, threads).
///
/// Why not link them: every library linked into conveyor, and every library it pulls in, is
/// loaded and relocated at every start, also of a one-record run that never touches it. libpq
/// pulls in about twenty (Kerberos, LDAP, GnuTLS, SASL); libnats pulls in OpenSSL's shared
/// libraries, whose relocations alone took a third of conveyor's start. Callers still compile
/// against the library's own header, so every call is type-checked (see plugins/postgres/
/// pg_api.hpp, lib/src/queue/nats_api.hpp).
class SharedLibrary {
public:
    /// Loads `soname` (e.g. "libpq.so.5"). A Config error naming it, what it is for and the
    /// Debian package that installs it, and what the loader said, when it cannot be loaded.
    static Result<SharedLibrary> open(const char* soname, std::string_view what,
                                      std::string_view package);

    /// Sets `fn` to the library's function `symbol`; false (with `missing` = symbol) when the
    /// library has no such function.
    template <class Fn>
    bool bind(const char* symbol, Fn& fn, std::string& missing) const {
        void* sym = lookup(symbol);
        if (!sym) {
            missing = symbol;
            return false;
        }
        fn = reinterpret_cast<Fn>(sym); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
        return true;
    }

    const std::string& soname() const noexcept { return soname_; }

private:
    SharedLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}
    void* lookup(const char* symbol) const noexcept;

    void* handle_ = nullptr;
    std::string soname_;
};

} // namespace conveyor
