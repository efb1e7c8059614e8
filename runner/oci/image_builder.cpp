// The built-in image builder and the check of a builder command's layout.
#include "runner/oci/image_builder.hpp"

#include "runner/oci/distribution_client.hpp"
#include "runner/oci/image_layout.hpp"
#include "runner/oci/layer_writer.hpp"
#include "runner/oci/media_types.hpp"
#include "runner/oci/pull.hpp"
#include "runner/oci/reference.hpp"

namespace sluice::oci {

namespace {

template <class T>
void get_to(const nlohmann::json& j, const char* key, T& out) {
    if (j.contains(key) && !j[key].is_null()) out = j[key].get<T>();
}

struct Base {
    nlohmann::json config = nlohmann::json::object();
    std::vector<Descriptor> layers;
    std::string described = "scratch";
};

// The manifest a descriptor of a layout names, an index resolved to linux/amd64.
util::Result<nlohmann::json> manifest_in(const ImageLayout& layout, Descriptor d) {
    for (int depth = 0; depth < 4; ++depth) {
        auto bytes = layout.read_blob(d);
        if (!bytes) return std::unexpected(bytes.error());
        auto json = nlohmann::json::parse(*bytes, nullptr, false);
        if (!json.is_object()) {
            return util::fail(util::ErrorCode::bad_input,
                              "manifest " + d.digest.to_string() + " is not JSON");
        }
        if (!media::is_index(json.value("mediaType", d.media_type)) && json.contains("layers")) {
            return json;
        }
        auto chosen = pick_platform(json);
        if (!chosen) return std::unexpected(chosen.error());
        d = *chosen;
    }
    return util::fail(util::ErrorCode::bad_input, "indexes nested too deep in " + layout.dir().string());
}

util::Result<Base> base_from_layout(ImageLayout& out, const LayoutReference& ref) {
    auto src = ImageLayout::open(ref.dir);
    if (!src) return std::unexpected(src.error());
    auto top = src->resolve(ref.ref_name);
    if (!top) return std::unexpected(top.error());
    auto manifest = manifest_in(*src, *top);
    if (!manifest) return std::unexpected(manifest.error());
    auto parts = manifest_parts(*manifest);
    if (!parts) return std::unexpected(parts.error());
    Base base;
    for (const auto& blob : parts->layers) {
        if (auto ok = out.copy_blob_from(*src, blob); !ok) return std::unexpected(ok.error());
        base.layers.push_back(blob);
    }
    auto config = src->read_blob(parts->config);
    if (!config) return std::unexpected(config.error());
    base.config = nlohmann::json::parse(*config, nullptr, false);
    if (!base.config.is_object()) {
        return util::fail(util::ErrorCode::bad_input, "the base's config is not a JSON object");
    }
    base.described = "oci:" + ref.dir.string() + (ref.ref_name.empty() ? "" : ":" + ref.ref_name) +
                     " (" + top->digest.to_string() + ")";
    return base;
}

util::Result<Base> base_from_registry(ImageLayout& out, const BuildSpec& spec,
                                      http::HttpClient& http, const LogLine& log) {
    auto ref = parse_reference(spec.base);
    if (!ref) {
        return util::fail(util::ErrorCode::bad_input,
                          "base " + spec.base +
                              " is neither scratch, an OCI layout nor an image reference: " +
                              ref.error().message);
    }
    ClientOptions options;
    options.insecure = spec.insecure;
    options.log = log;
    auto creds = read_docker_config(spec.docker_config, ref->registry);
    if (!creds) return std::unexpected(creds.error());
    options.credentials = *creds;
    DistributionClient client(http, ref->registry, options);
    if (log) log("pulling base " + ref->to_string());
    auto pulled = pull_image(client, *ref, out, spec.locations_file, log);
    if (!pulled) return std::unexpected(pulled.error());
    auto parts = manifest_parts(pulled->manifest_json);
    if (!parts) return std::unexpected(parts.error());
    Base base;
    base.layers = parts->layers;
    base.config = pulled->config;
    base.described = ref->to_string() + " (" + pulled->manifest.digest.to_string() + ")";
    return base;
}

}  // namespace

nlohmann::json to_json(const BuildSpec& s) {
    return {{"stage", s.stage},
            {"workspace", s.workspace.string()},
            {"context", s.context.string()},
            {"ignore", s.ignore},
            {"base", s.base},
            {"tag", s.tag},
            {"ref_name", s.ref_name},
            {"entrypoint", s.settings.entrypoint},
            {"cmd", s.settings.cmd},
            {"env", s.settings.env},
            {"workdir", s.settings.workdir},
            {"expose", s.settings.expose},
            {"labels", s.settings.labels},
            {"created_by", s.settings.created_by},
            {"layout", s.layout.string()},
            {"builder_argv", s.builder_argv},
            {"insecure", s.insecure},
            {"docker_config", s.docker_config.string()},
            {"locations_file", s.locations_file.string()},
            {"report_file", s.report_file.string()},
            {"state_dir", s.state_dir.string()},
            {"run_id", s.run_id},
            {"models", s.models}};
}

util::Result<BuildSpec> build_spec_from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("layout") || !j.contains("context")) {
        return util::fail(util::ErrorCode::bad_input, "not an image build spec");
    }
    try {
        BuildSpec s;
        get_to(j, "stage", s.stage);
        get_to(j, "workspace", s.workspace);
        get_to(j, "context", s.context);
        get_to(j, "ignore", s.ignore);
        get_to(j, "base", s.base);
        get_to(j, "tag", s.tag);
        get_to(j, "ref_name", s.ref_name);
        if (j.contains("entrypoint")) s.settings.entrypoint = j["entrypoint"];
        if (j.contains("cmd")) s.settings.cmd = j["cmd"];
        get_to(j, "env", s.settings.env);
        get_to(j, "workdir", s.settings.workdir);
        get_to(j, "expose", s.settings.expose);
        get_to(j, "labels", s.settings.labels);
        get_to(j, "created_by", s.settings.created_by);
        get_to(j, "layout", s.layout);
        get_to(j, "builder_argv", s.builder_argv);
        get_to(j, "insecure", s.insecure);
        get_to(j, "docker_config", s.docker_config);
        get_to(j, "locations_file", s.locations_file);
        get_to(j, "report_file", s.report_file);
        get_to(j, "state_dir", s.state_dir);
        get_to(j, "run_id", s.run_id);
        get_to(j, "models", s.models);
        if (s.base.empty()) s.base = "scratch";
        return s;
    } catch (const nlohmann::json::exception& e) {
        return util::fail(util::ErrorCode::bad_input, std::string("bad image build spec: ") + e.what());
    }
}

util::Result<BuildResult> build_image(const BuildSpec& spec, http::HttpClient& http,
                                      const LogLine& log) {
    std::error_code ec;
    std::filesystem::remove_all(spec.layout, ec);  // an earlier attempt's
    auto layout = ImageLayout::create(spec.layout);
    if (!layout) return std::unexpected(layout.error());

    Base base;
    if (spec.base != "scratch") {
        std::filesystem::path as_path = spec.base.starts_with("oci:") ? std::filesystem::path()
                                                                       : spec.workspace / spec.base;
        util::Result<Base> got = util::fail(util::ErrorCode::internal, "");
        if (spec.base.starts_with("oci:") || std::filesystem::exists(as_path / "oci-layout") ||
            spec.base.starts_with("/") || spec.base.starts_with("./") || spec.base.starts_with("../")) {
            LayoutReference ref = parse_layout_reference(spec.base);
            if (ref.dir.is_relative()) ref.dir = spec.workspace / ref.dir;
            if (!std::filesystem::exists(ref.dir / "oci-layout") &&
                std::filesystem::exists(spec.workspace / spec.base / "oci-layout")) {
                ref = {spec.workspace / spec.base, ""};  // a path with a ':' in it
            }
            if (log) log("base: OCI layout " + ref.dir.string());
            got = base_from_layout(*layout, ref);
        } else {
            got = base_from_registry(*layout, spec, http, log);
        }
        if (!got) {
            return util::fail(got.error().code, "base " + spec.base + ": " + got.error().message);
        }
        base = std::move(*got);
    }

    LayerSource source{spec.context, spec.settings.workdir, spec.ignore};
    auto layer = write_layer(*layout, source);
    if (!layer) return std::unexpected(layer.error());
    if (log) {
        log("layer " + layer->blob.digest.to_string() + " (" + std::to_string(layer->entries) +
            " entries, " + std::to_string(layer->blob.size) + " bytes)");
    }

    auto config = build_config(base.config, layer->diff_id, spec.settings);
    auto config_blob = layout->write_blob(config.dump(), std::string(media::k_oci_config));
    if (!config_blob) return std::unexpected(config_blob.error());
    std::vector<Descriptor> layers;
    for (auto l : base.layers) {
        l.media_type = oci_media_type(l.media_type);
        l.annotations = nullptr;
        layers.push_back(l);
    }
    layers.push_back(layer->blob);
    auto manifest = build_manifest(*config_blob, layers);
    auto manifest_blob = layout->write_blob(manifest.dump(), std::string(media::k_oci_manifest));
    if (!manifest_blob) return std::unexpected(manifest_blob.error());
    if (auto ok = layout->tag(*manifest_blob, spec.ref_name); !ok) return std::unexpected(ok.error());

    BuildResult result;
    result.manifest = *manifest_blob;
    result.layout = spec.layout;
    result.ref_name = spec.ref_name;
    result.base = base.described;
    result.layers = layers.size();
    result.layer = layer->blob.digest;
    result.files = layer->entries;
    return result;
}

util::Result<BuildResult> adopt_built_image(const BuildSpec& spec) {
    auto layout = ImageLayout::open(spec.layout);
    if (!layout) {
        return util::fail(util::ErrorCode::bad_input,
                          "the builder command left no OCI layout in $SLUICE_IMAGE_LAYOUT (" +
                              spec.layout.string() + "): " + layout.error().message);
    }
    auto top = layout->resolve(spec.ref_name);
    if (!top && top.error().code == util::ErrorCode::not_found) top = layout->resolve("");
    if (!top) return std::unexpected(top.error());
    auto manifest = manifest_in(*layout, *top);
    if (!manifest) return std::unexpected(manifest.error());
    auto parts = manifest_parts(*manifest);
    if (!parts) return std::unexpected(parts.error());
    if (auto ok = layout->verify_blob(parts->config); !ok) return std::unexpected(ok.error());
    for (const auto& l : parts->layers) {
        if (auto ok = layout->verify_blob(l); !ok) return std::unexpected(ok.error());
    }
    Descriptor named = *top;
    named.annotations = nullptr;
    if (auto ok = layout->tag(named, spec.ref_name); !ok) return std::unexpected(ok.error());
    BuildResult result;
    result.manifest = named;
    result.layout = spec.layout;
    result.ref_name = spec.ref_name;
    result.base = "(builder command)";
    result.layers = parts->layers.size();
    return result;
}

nlohmann::json to_json(const BuildResult& r) {
    nlohmann::json j = {{"digest", r.manifest.digest.to_string()},
                        {"media_type", r.manifest.media_type},
                        {"size", r.manifest.size},
                        {"layout", r.layout.string()},
                        {"ref_name", r.ref_name},
                        {"base", r.base},
                        {"layers", r.layers}};
    if (!r.layer.hex.empty()) {
        j["layer"] = r.layer.to_string();
        j["files"] = r.files;
    }
    return j;
}

}  // namespace sluice::oci
