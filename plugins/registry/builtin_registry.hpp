// The builtin registry: models, versions, metrics and aliases in an embedded SQLite
// database in the state directory (registry.db), no server. Every write is one
// transaction; several sluice processes may use it at once.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "plugins/registry/registry.hpp"
#include "runner/util/clock.hpp"

namespace sluice::registry {

class BuiltinRegistry : public Registry {
public:
    // Opens (creating and migrating) the database at path. clock: where times come
    // from (nullptr: the system's); it must outlive the registry.
    static Result<std::unique_ptr<BuiltinRegistry>> open(
        const std::filesystem::path& path, const util::Clock* clock = nullptr,
        std::chrono::milliseconds busy_timeout = std::chrono::seconds(10));
    ~BuiltinRegistry() override;

    std::string describe() const override;
    Result<std::vector<std::string>> models() override;
    Result<std::vector<ModelVersion>> versions(const std::string& model) override;
    Result<ModelVersion> version(const std::string& model, const std::string& version) override;
    Result<std::optional<ModelVersion>> by_alias(const std::string& model,
                                                 const std::string& alias) override;
    Result<ModelVersion> create_version(const NewVersion& version) override;
    Status set_alias(const std::string& model, const std::string& alias,
                     const std::string& version, const std::string& actor,
                     const std::string& reason) override;
    Result<std::vector<AliasMove>> alias_history(const std::string& model,
                                                 const std::string& alias) override;

    // The versions a run created (the candidates of that run), oldest first.
    Result<std::vector<ModelVersion>> versions_of_run(const std::string& run_id);

private:
    struct Impl;
    explicit BuiltinRegistry(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Model and alias names: letters, digits, `.`, `_`, `-`, starting with a letter or
// digit, at most 100 characters. ErrorCode::bad_input otherwise, saying what is wrong.
Status check_name(std::string_view what, std::string_view name);

}  // namespace sluice::registry
