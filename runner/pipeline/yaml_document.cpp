// Parsing with yaml-cpp 0.7 without its LoadAll(): on a stray token at document level
// (`,` for one) LoadAll loops forever, adding an empty document each time until memory
// runs out (yaml-cpp issue #1040, fixed upstream after 0.8). So a first pass counts the
// documents through YAML::Parser, stopping when a document starts where the previous one
// did (no progress), and Load() then builds the first document's tree.
#include "runner/pipeline/yaml_document.hpp"

#include <yaml-cpp/eventhandler.h>

#include <sstream>

namespace sluice::pipeline {
namespace {

// Records where each document's first node is; builds nothing.
class DocumentCounter : public YAML::EventHandler {
  public:
    std::vector<YAML::Mark> starts;  // of each document's first node

    void OnDocumentStart(const YAML::Mark&) override { first_ = true; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  const std::string&) override {
        node(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnMapEnd() override {}

  private:
    void node(const YAML::Mark& mark) {
        if (first_) starts.push_back(mark);
        first_ = false;
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
