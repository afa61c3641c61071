// Asio is built once here (BOOST_ASIO_SEPARATE_COMPILATION) instead of in every file using it.
#include <boost/asio/impl/src.hpp>
