// Salted PBKDF2 hashes of secrets: round trip, salts, recorded iteration counts, and
// the cost of one check.
#include "runner/access/secret_hash.hpp"

#include <gtest/gtest.h>


namespace sluice::access {
namespace {

TEST(SecretHash, VerifiesTheSecretItWasMadeFromAndNothingElse) {
    auto hash = hash_secret("slc_tok_abcdef_secret");
    ASSERT_TRUE(hash.has_value()) << hash.error().message;
    EXPECT_EQ(hash->kdf, "pbkdf2-sha256");
    EXPECT_EQ(hash->iterations, k_default_iterations);
    EXPECT_EQ(hash->salt_hex.size(), 32u);
    EXPECT_EQ(hash->hash_hex.size(), 64u);
    EXPECT_TRUE(verify_secret(*hash, "slc_tok_abcdef_secret"));
    EXPECT_FALSE(verify_secret(*hash, "slc_tok_abcdef_secreT"));
    EXPECT_FALSE(verify_secret(*hash, "slc_tok_abcdef_secret "));
    EXPECT_FALSE(verify_secret(*hash, ""));
}

TEST(SecretHash, EachHashHasItsOwnSalt) {
    auto a = hash_secret("same");
    auto b = hash_secret("same");
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->salt_hex, b->salt_hex);
    EXPECT_NE(a->hash_hex, b->hash_hex);
}

TEST(SecretHash, TheRecordedIterationCountIsTheOneUsed) {
    auto hash = hash_secret("secret", 2000);
    ASSERT_TRUE(hash.has_value());
    EXPECT_EQ(hash->iterations, 2000);
    EXPECT_TRUE(verify_secret(*hash, "secret"));
    SecretHash changed = *hash;
    changed.iterations = 2001;
    EXPECT_FALSE(verify_secret(changed, "secret"));
}

TEST(SecretHash, UnusableRecordsNeverVerify) {
    auto hash = hash_secret("secret");
    ASSERT_TRUE(hash.has_value());
    SecretHash other_kdf = *hash;
    other_kdf.kdf = "argon2id";
    EXPECT_FALSE(verify_secret(other_kdf, "secret"));
    SecretHash bad_hex = *hash;
    bad_hex.hash_hex[0] = 'z';
    EXPECT_FALSE(verify_secret(bad_hex, "secret"));
    SecretHash too_few = *hash;
    too_few.iterations = 1;
    EXPECT_FALSE(verify_secret(too_few, "secret"));
    EXPECT_FALSE(hash_secret("secret", 1).has_value());
}

TEST(SecretHash, RandomHexHasTheLengthAskedForAndDiffers) {
    auto a = random_hex(32);
    auto b = random_hex(32);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->size(), 64u);
    EXPECT_NE(*a, *b);
    EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace sluice::access
