// SHA-256 against the FIPS 180-4 test vectors, plus moving a digest in progress and
// the hex helpers.
#include "runner/util/sha256.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <stdexcept>

namespace sluice::util {
namespace {

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsWhole) {
    std::string text;
    for (int i = 0; i < 300; ++i) text += static_cast<char>('a' + i % 26);
    for (std::size_t split : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 200u}) {
        Sha256 h;
        h.update(std::string_view(text).substr(0, split));
        h.update(std::string_view(text).substr(split));
        auto digest = h.finish();
        static constexpr char k_hex[] = "0123456789abcdef";
        std::string hex;
        for (auto b : digest) {
            hex.push_back(k_hex[b >> 4]);
            hex.push_back(k_hex[b & 0xf]);
        }
        EXPECT_EQ(hex, sha256_hex(text)) << "split at " << split;
    }
}

TEST(Sha256, MovedDigestContinuesWhereItWas) {
    Sha256 first;
    first.update("ab");
    Sha256 moved(std::move(first));
    moved.update("c");
    Sha256 assigned;
    assigned.update("unrelated");
    assigned = std::move(moved);
    EXPECT_EQ(digest_hex(assigned.finish()),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, UpdateOnMovedFromDigestIsABug) {
    Sha256 first;
    Sha256 second(std::move(first));
    EXPECT_THROW(first.update("x"), std::logic_error);  // NOLINT(bugprone-use-after-move)
}

TEST(Sha256, DigestHexRoundTrips) {
    Sha256 h;
    h.update("abc");
    Sha256Digest digest = h.finish();
    std::string hex = digest_hex(digest);
    EXPECT_EQ(hex, sha256_hex("abc"));
    Sha256Digest parsed{};
    ASSERT_TRUE(parse_digest_hex(hex, parsed));
    EXPECT_EQ(parsed, digest);
    std::string upper = hex;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    ASSERT_TRUE(parse_digest_hex(upper, parsed));
    EXPECT_EQ(parsed, digest);
    EXPECT_FALSE(parse_digest_hex(hex.substr(1), parsed));
    EXPECT_FALSE(parse_digest_hex(hex.substr(1) + "g", parsed));
    EXPECT_FALSE(parse_digest_hex("", parsed));
}

}  // namespace
}  // namespace sluice::util
