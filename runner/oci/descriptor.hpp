// OCI content descriptors ({mediaType, digest, size, annotations, platform}) and their
// JSON mapping.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runner/oci/digest.hpp"
#include "runner/util/error.hpp"

namespace sluice::oci {

struct Descriptor {
    std::string media_type;
    Digest digest;
    std::int64_t size = 0;
    nlohmann::json annotations = nullptr;  // an object of strings, or null
    nlohmann::json platform = nullptr;     // {architecture, os, ...} in an index, or null
};

nlohmann::json to_json(const Descriptor& descriptor);
// bad_input when a field is missing or of the wrong type.
util::Result<Descriptor> descriptor_from_json(const nlohmann::json& json);

}  // namespace sluice::oci
