#include "conveyor/core/shared_library.hpp"

#include <dlfcn.h>

namespace conveyor {

Result<SharedLibrary> SharedLibrary::open(const char* soname, std::string_view what,
                                          std::string_view package) {
    void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = ::dlerror();
        return Error(ErrorKind::Config, std::string("cannot load ") + soname + " (" +
                                            std::string(what) + "; Debian: apt-get install " +
                                            std::string(package) +
                                            "): " + (why ? why : "unknown error"));
    }
    return SharedLibrary(handle, soname);
}

void* SharedLibrary::lookup(const char* symbol) const noexcept {
    return ::dlsym(handle_, symbol);
}

} // namespace conveyor
