// Asio's OpenSSL support is built once here (BOOST_ASIO_SEPARATE_COMPILATION); Asio itself is
// built in exec/asio_impl.cpp.
#include <boost/asio/ssl/impl/src.hpp>
