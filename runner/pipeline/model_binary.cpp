// The pipeline model as a byte record (see model_binary.hpp). Each struct lists its
// fields once, in fields(); the same list writes and reads it.
#include "runner/pipeline/model_binary.hpp"

#include <concepts>
#include <type_traits>

#include "runner/util/byte_codec.hpp"

namespace sluice::pipeline {
namespace {

// Every field is in a fields() below; a field added to the model and not there would be
// lost on the way back, so the model's sizes are pinned: change them with this file.
static_assert(sizeof(Stage) == 744, "a Stage field changed: update model_binary.cpp");
static_assert(sizeof(Pipeline) == 312, "a Pipeline field changed: update model_binary.cpp");
static_assert(sizeof(Environment) == 176, "an Environment field changed: update model_binary.cpp");

template <class T, class U>
concept Is = std::same_as<std::remove_const_t<T>, U>;

template <class F, Is<Pos> T> void fields(F& f, T& p) { f(p.line), f(p.column); }
template <class F, Is<Retry> T> void fields(F& f, T& r) { f(r.max), f(r.delay), f(r.max_delay); }
template <class F, Is<Triggers> T> void fields(F& f, T& t) {
    f(t.any), f(t.push_branches), f(t.merge_request_targets), f(t.manual), f(t.tags), f(t.all_tags);
}
template <class F, Is<When> T> void fields(F& f, T& w) {
    f(w.events), f(w.branches), f(w.target_branches), f(w.changes), f(w.pos);
}
template <class F, Is<Approval> T> void fields(F& f, T& a) {
    f(a.required), f(a.approvers), f(a.self_approval), f(a.timeout), f(a.pos);
}
template <class F, Is<Promote> T> void fields(F& f, T& p) { f(p.model), f(p.alias), f(p.pos); }
template <class F, Is<Stage> T> void fields(F& f, T& s) {
    f(s.name), f(s.pos), f(s.kind), f(s.run), f(s.run_pos), f(s.needs), f(s.needs_pos), f(s.env),
        f(s.inherit_all_env), f(s.inherit_env), f(s.timeout), f(s.retry), f(s.allow_failure),
        f(s.shell), f(s.inputs), f(s.outputs), f(s.cache), f(s.metrics), f(s.reports), f(s.when),
        f(s.environment), f(s.approval), f(s.promote), f(s.config);
}
template <class F, Is<Environment> T> void fields(F& f, T& e) {
    f(e.name), f(e.branches), f(e.is_protected), f(e.approval), f(e.alias), f(e.pos);
}
template <class F, Is<Defaults> T> void fields(F& f, T& d) { f(d.timeout), f(d.retry), f(d.shell); }
template <class F, Is<Pipeline> T> void fields(F& f, T& p) {
    f(p.name), f(p.file), f(p.on), f(p.variables), f(p.defaults), f(p.environments), f(p.stages);
}

struct AnyField {
    template <class U>
    void operator()(U&) const {}
};
template <class T>
concept Record = requires(T& value, AnyField& f) { fields(f, value); };

struct Write {
    util::ByteWriter& w;

    void operator()(const std::string& s) { w.str(s); }
    void operator()(bool b) { w.u64(b ? 1 : 0); }
    void operator()(int v) { w.i64(v); }
    void operator()(Millis m) { w.i64(m.count()); }
    void operator()(StageKind k) { w.u64(static_cast<std::uint64_t>(k)); }
    void operator()(const nlohmann::json& j) { w.str(j.dump()); }
    template <class A, class B>
    void operator()(const std::pair<A, B>& p) {
        (*this)(p.first);
        (*this)(p.second);
    }
    template <class T>
    void operator()(const std::optional<T>& o) {
        (*this)(o.has_value());
        if (o) (*this)(*o);
    }
    template <class T>
    void operator()(const std::vector<T>& v) {
        w.u64(v.size());
        for (const auto& x : v) (*this)(x);
    }
    void operator()(const std::map<std::string, std::string>& m) {
        w.u64(m.size());
        for (const auto& x : m) (*this)(x);
    }
    template <Record T>
    void operator()(const T& record) {
        fields(*this, record);
    }
};

struct Read {
    util::ByteReader& r;

    void operator()(std::string& s) { s = r.str(); }
    void operator()(bool& b) {
        auto v = r.u64();
        if (v > 1) r.fail();
        b = v == 1;
    }
    void operator()(int& v) { v = static_cast<int>(r.i64()); }
    void operator()(Millis& m) { m = Millis(r.i64()); }
    void operator()(StageKind& k) {
        auto v = r.u64();
        if (v > static_cast<std::uint64_t>(StageKind::deploy)) r.fail();
        k = r.ok() ? static_cast<StageKind>(v) : StageKind::script;
    }
    void operator()(nlohmann::json& j) {
        std::string text = r.str();
        if (text == "{}") {  // most stages: no kind configuration
            j = nlohmann::json::object();
            return;
        }
        j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) r.fail();
    }
    template <class A, class B>
    void operator()(std::pair<A, B>& p) {
        (*this)(p.first);
        (*this)(p.second);
    }
    template <class T>
    void operator()(std::optional<T>& o) {
        bool present = false;
        (*this)(present);
        if (!present || !r.ok()) return o.reset();
        (*this)(o.emplace());
    }
    template <class T>
    void operator()(std::vector<T>& v) {
        auto n = r.count(8);  // every item takes 8 bytes at least
        v.clear();
        v.reserve(n);
        for (; n > 0 && r.ok(); --n) (*this)(v.emplace_back());
    }
    void operator()(std::map<std::string, std::string>& m) {
        m.clear();
        for (auto n = r.count(16); n > 0 && r.ok(); --n) {
            std::pair<std::string, std::string> x;
            (*this)(x);
            m.insert(std::move(x));
        }
    }
    template <Record T>
    void operator()(T& record) {
        fields(*this, record);
    }
};

}  // namespace

std::string to_binary(const Pipeline& pipeline) {
    util::ByteWriter w;
    Write write{w};
    write(pipeline);
    return std::move(w.bytes());
}

util::Result<Pipeline> pipeline_from_binary(std::string_view bytes) {
    util::ByteReader r(bytes);
    Read read{r};
    Pipeline p;
    read(p);
    if (!r.ok() || !r.at_end()) {
        return util::fail(util::ErrorCode::bad_input, "not a remembered pipeline");
    }
    return p;
}

}  // namespace sluice::pipeline
