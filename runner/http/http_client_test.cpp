// URL encoding, header lookup and Authorization header values.
#include "runner/http/http_client.hpp"

#include <gtest/gtest.h>

#include "runner/http/auth.hpp"

namespace sluice::http {
namespace {

TEST(HttpClientTest, UrlEncodeKeepsOnlyUnreserved) {
    EXPECT_EQ(url_encode("churn-model_1.0~"), "churn-model_1.0~");
    EXPECT_EQ(url_encode("name='churn model'"), "name%3D%27churn%20model%27");
    EXPECT_EQ(url_encode("a/b?c&d#e"), "a%2Fb%3Fc%26d%23e");
    EXPECT_EQ(url_encode("\xC3\xA9"), "%C3%A9");
}

TEST(HttpClientTest, QueryStringKeepsOrderAndRepeats) {
    EXPECT_EQ(query_string({{"name", "churn"}, {"stages", "Staging"}, {"stages", "Production"}}),
              "name=churn&stages=Staging&stages=Production");
    EXPECT_EQ(query_string({}), "");
}

TEST(HttpClientTest, MediaTypeDropsParametersAndCase) {
    Response r;
    r.content_type = " Text/HTML ; charset=utf-8";
    EXPECT_EQ(r.media_type(), "text/html");
    r.content_type = "";
    EXPECT_EQ(r.media_type(), "");
}

TEST(HttpClientTest, MethodNames) {
    EXPECT_EQ(to_string(Method::get), "GET");
    EXPECT_EQ(to_string(Method::post), "POST");
    EXPECT_EQ(to_string(Method::put), "PUT");
    EXPECT_EQ(to_string(Method::patch), "PATCH");
    EXPECT_EQ(to_string(Method::del), "DELETE");
}

TEST(HttpClientTest, Base64AndAuthorization) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    EXPECT_EQ(bearer_authorization("t0k"), "Bearer t0k");
}

}  // namespace
}  // namespace sluice::http
