// removed at merge: lib/src/net provides it
// Beast is built once per program (BOOST_BEAST_SEPARATE_COMPILATION); until the http branch
// lands, the metrics server needs this translation unit.
#include <boost/beast/src.hpp>
