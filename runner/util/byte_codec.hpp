// A compact binary record for sluice's own caches (remembered runs and pipelines): integers
// as 8 bytes little-endian, strings length-prefixed. The reader never reads past its
// input: anything inconsistent makes it not ok() and every later read empty, so a
// damaged file is just a file that is not used.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::util {

static_assert(std::endian::native == std::endian::little, "byte records are written little-endian");

class ByteWriter {
public:
    void u64(std::uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    void str(std::string_view s) {
        u64(s.size());
        out_.append(s);
    }
    std::string& bytes() { return out_; }

private:
    std::string out_;
};

class ByteReader {
public:
    explicit ByteReader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    void fail() { ok_ = false; }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        if (!need(sizeof v)) return 0;
        std::memcpy(&v, in_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    std::string str() {
        std::uint64_t n = u64();
        if (!need(n)) return {};
        std::string s(in_.substr(pos_, n));
        pos_ += n;
        return s;
    }
    // A count of items of at least `min_bytes` each: bounded by what is left.
    std::uint64_t count(std::size_t min_bytes) {
        std::uint64_t n = u64();
        if (n > (in_.size() - pos_) / min_bytes) ok_ = false;
        return ok_ ? n : 0;
    }

private:
    bool need(std::uint64_t n) {
        if (!ok_ || n > in_.size() - pos_) ok_ = false;
        return ok_;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace sluice::util
