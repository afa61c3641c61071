#include "conveyor/net/url.hpp"

#include <gtest/gtest.h>

namespace conveyor::net {
namespace {

TEST(Url, ParsesSchemeHostPortAndTarget) {
    auto u = parse_url("https://API.Example.com:8443/v1/users?id=3#frag");
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_TRUE(u->tls);
    EXPECT_EQ(u->host, "api.example.com");
    EXPECT_EQ(u->port, 8443);
    EXPECT_EQ(u->target, "/v1/users?id=3");
    EXPECT_EQ(u->host_header(), "api.example.com:8443");
    EXPECT_EQ(u->pool_key(), "api.example.com:8443:tls");
}

TEST(Url, DefaultsPortAndPath) {
    auto u = parse_url("http://127.0.0.1");
    ASSERT_TRUE(u);
    EXPECT_FALSE(u->tls);
    EXPECT_EQ(u->port, 80);
    EXPECT_EQ(u->target, "/");
    EXPECT_EQ(u->host_header(), "127.0.0.1");
    auto q = parse_url("http://h?x=1");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->target, "/?x=1");
}

TEST(Url, KeepsUserinfoAndBracketedIpv6) {
    auto u = parse_url("http://user:p%40ss@[::1]:9000/x");
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_EQ(u->userinfo, "user:p%40ss");
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 9000);
    EXPECT_EQ(u->host_header(), "[::1]:9000");
}

TEST(Url, RejectsWhatIsNotAnHttpUrl) {
    EXPECT_FALSE(parse_url("ftp://x/y"));
    EXPECT_FALSE(parse_url("example.com/path"));
    EXPECT_FALSE(parse_url("http:///path"));
    EXPECT_FALSE(parse_url("http://host:99999/"));
    EXPECT_FALSE(parse_url("http://host:12a/"));
    EXPECT_FALSE(parse_url("http://host/a b"));
    EXPECT_FALSE(parse_url("http://host/a\r\nX: y"));
    auto e = parse_url("gopher://x");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("http or https"), std::string::npos);
}

TEST(Url, RedactsCredentialsAndSecretQueryValues) {
    EXPECT_EQ(redact_url("https://alice:s3cret@api.example.com/x?id=1"),
              "https://***@api.example.com/x?id=1");
    EXPECT_EQ(redact_url("https://api.example.com/x?id=7&api_key=abc&Token=zz&page=2"),
              "https://api.example.com/x?id=7&api_key=***&Token=***&page=2");
    EXPECT_EQ(redact_url("http://h/p"), "http://h/p");
    EXPECT_EQ(redact_url("not a url"), "not a url");
    const std::string redacted = redact_url("http://u:pw@h/?password=hunter2&sig=1#f");
    EXPECT_EQ(redacted.find("pw"), std::string::npos);
    EXPECT_EQ(redacted.find("hunter2"), std::string::npos);
    EXPECT_EQ(redacted, "http://***@h/?password=***&sig=***#f");
}

TEST(Url, PercentEncodesEverythingButUnreserved) {
    std::string out;
    append_percent_encoded(out, "a b/../c?x=1&y=2#z+~._-Z9");
    EXPECT_EQ(out, "a%20b%2F..%2Fc%3Fx%3D1%26y%3D2%23z%2B~._-Z9");
    out.clear();
    append_percent_encoded(out, "\xc3\xa9\n%");
    EXPECT_EQ(out, "%C3%A9%0A%25");
    EXPECT_EQ(percent_decode("a%20b%2F..%2Fc%3Fx%3D1"), "a b/../c?x=1");
    EXPECT_EQ(percent_decode("bad%zz%4"), "bad%zz%4");
}

TEST(Url, Base64MatchesRfc4648Vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

} // namespace
} // namespace conveyor::net
