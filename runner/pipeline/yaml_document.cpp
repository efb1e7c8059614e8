// Parsing with yaml-cpp 0.7 without its LoadAll(): on a stray token at document level
// (`,` for one) LoadAll loops forever, adding an empty document each time until memory
// runs out (yaml-cpp issue #1040, fixed upstream after 0.8). So a first pass counts the
// documents through YAML::Parser, stopping when a document starts where the previous one
// did (no progress), and Load() then builds the first document's tree. The same pass
// finds explicit tags (`!!python/object:...`, `!custom`, `!!int`): sluice.yml takes none.
#include "runner/pipeline/yaml_document.hpp"

#include <yaml-cpp/eventhandler.h>

#include <sstream>

namespace sluice::pipeline {
namespace {

// An explicit tag and where its node is.
struct TaggedNode {
    std::string tag;
    YAML::Mark mark;
};

// Records where each document's first node is, and every explicit tag; builds nothing.
class DocumentCounter : public YAML::EventHandler {
  public:
    std::vector<YAML::Mark> starts;  // of each document's first node
    std::vector<TaggedNode> tagged;

    void OnDocumentStart(const YAML::Mark&) override { first_ = true; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                  const std::string&) override {
        node(mark, tag);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(mark, tag);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        node(mark, tag);
    }
    void OnMapEnd() override {}

  private:
    // yaml-cpp gives an untagged node the tag "?" and a quoted scalar (or one written
    // with the non-specific tag `!`) the tag "!": both are plain values.
    void node(const YAML::Mark& mark, const std::string& tag = "?") {
        if (first_) starts.push_back(mark);
        first_ = false;
        if (tag != "?" && tag != "!") tagged.push_back({tag, mark});
    }
    bool first_ = false;
};

util::Location location(const Reader& reader, const YAML::Mark& mark) {
    if (mark.pos >= 0) return reader.where_offset(static_cast<std::size_t>(mark.pos));
    if (mark.line >= 0) return util::Location{reader.file(), mark.line + 1, mark.column + 1};
    return util::Location{reader.file(), 1, 1};
}

// "`,`" for a visible ASCII character at `pos`, else "this character".
std::string character_at(const std::string& text, int pos) {
    if (pos < 0 || static_cast<std::size_t>(pos) >= text.size()) return "the end of the file";
    char c = text[static_cast<std::size_t>(pos)];
    if (c > ' ' && c < 127) return std::string("`") + c + "`";
    return "this character";
}

// A tag as written: yaml-cpp expands `!!` to the YAML namespace.
std::string tag_as_written(const std::string& tag) {
    constexpr std::string_view k_yaml_namespace = "tag:yaml.org,2002:";
    if (tag.starts_with(k_yaml_namespace)) return "!!" + tag.substr(k_yaml_namespace.size());
    return tag;
}

}  // namespace

std::optional<YAML::Node> parse_document(Reader& reader, const SourceText& source) {
    DocumentCounter counter;
    YAML::Node root;
    try {
        std::istringstream in(source.text());
        YAML::Parser parser(in);
        while (parser.HandleNextDocument(counter)) {
            std::size_t n = counter.starts.size();
            if (n >= 2 && counter.starts[n - 1].pos <= counter.starts[n - 2].pos) {
                const YAML::Mark& stuck = counter.starts[n - 1];
                reader.error(location(reader, stuck), "YAML syntax error: unexpected " +
                                                          character_at(source.text(), stuck.pos));
                return std::nullopt;
            }
        }
        root = YAML::Load(source.text());
    } catch (const YAML::Exception& e) {
        reader.error(location(reader, e.mark), "YAML syntax error: " + e.msg);
        return std::nullopt;
    }
    if (counter.starts.empty() || root.IsNull()) {
        reader.error(util::Location{reader.file(), 1, 1},
                     "the file is empty; a pipeline needs at least `name` and `stages`");
        return std::nullopt;
    }
    for (const auto& t : counter.tagged) {
        // A tag asks a YAML library to build a value of that type (an object, in some
        // libraries): the loader reads each value by what its key expects instead.
        reader.error(location(reader, t.mark),
                     "YAML tag `" + tag_as_written(t.tag) +
                         "` is not allowed: sluice.yml takes plain values (quote a value that "
                         "starts with `!`)");
    }
    if (counter.starts.size() > 1) {
        reader.error(location(reader, counter.starts[1]),
                     "a pipeline file holds one YAML document; this is a second");
    }
    if (!root.IsMap()) {
        reader.error(root,
                     "the top level must be a map (name, on, variables, defaults, "
                     "stages), got " +
                         describe(root));
        return std::nullopt;
    }
    return root;
}

}  // namespace sluice::pipeline
