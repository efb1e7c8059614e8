// CurlHttpClient: a libcurl easy handle per request, owned by a unique_ptr, with the
// answer's status, headers and body collected by callbacks. libcurl is loaded on the first
// request (curl_library.hpp).
#include "runner/http/curl_http_client.hpp"

#include "runner/http/curl_library.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace sluice::http {

namespace {

struct EasyDeleter {
    const CurlLibrary* curl = nullptr;
    void operator()(CURL* handle) const { curl->easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct ListDeleter {
    const CurlLibrary* curl = nullptr;
    void operator()(curl_slist* list) const { curl->slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, ListDeleter>;

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};
using FileHandle = std::unique_ptr<std::FILE, FileCloser>;

// What the callbacks fill in while the transfer runs.
struct Collector {
    const CurlLibrary* curl = nullptr;
    Response response;
    std::size_t max_body_bytes = 0;
    bool too_long = false;
    CURL* handle = nullptr;
    std::FILE* download = nullptr;  // a 2xx body goes here when set
    bool download_failed = false;
};

// The body of a request streamed from a file, at most `left` bytes.
struct Upload {
    std::FILE* file = nullptr;
    std::uint64_t left = 0;
    bool failed = false;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    std::size_t want = std::min<std::uint64_t>(size * count, upload->left);
    if (want == 0) return 0;
    std::size_t got = std::fread(buffer, 1, want, upload->file);
    if (got == 0) {
        upload->failed = true;  // the file is shorter than announced
        return CURL_READFUNC_ABORT;
    }
    upload->left -= got;
    return got;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* collector = static_cast<Collector*>(user);
    std::size_t n = size * count;
    if (collector->download != nullptr) {
        long status = 0;
        collector->curl->easy_getinfo(collector->handle, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            if (std::fwrite(data, 1, n, collector->download) != n) {
                collector->download_failed = true;
                return 0;
            }
            collector->response.downloaded_bytes += n;
            return n;
        }
    }
    if (collector->response.body.size() + n > collector->max_body_bytes) {
        collector->too_long = true;
        return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    collector->response.body.append(data, n);
    return n;
}

std::string trim(std::string_view text) {
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    auto begin = std::find_if(text.begin(), text.end(), not_space);
    auto end = std::find_if(text.rbegin(), std::string_view::reverse_iterator(begin), not_space);
    return std::string(begin, end.base());
}

// Called once per header line; a status line starts the headers of a new answer (after a
// 100 Continue), so only the final answer's headers are kept.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* collector = static_cast<Collector*>(user);
    std::size_t n = size * count;
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
        collector->response.headers.clear();
        return n;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string name = trim(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    collector->response.headers.push_back({std::move(name), trim(line.substr(colon + 1))});
    return n;
}

// Appends one "Name: value" line; false when out of memory (the list is left as it was).
bool append(HeaderList& list, const std::string& line) {
    curl_slist* grown = list.get_deleter().curl->slist_append(list.get(), line.c_str());
    if (grown == nullptr) return false;
    (void)list.release();  // grown is the same list, one line longer
    list.reset(grown);
    return true;
}

template <class T>
void set(const CurlLibrary& curl, CURL* handle, CURLoption option, T value) {
    // Options set here are valid for the libcurl sluice builds against; a failure would be a bug.
    if (curl.easy_setopt(handle, option, value) != CURLE_OK) {
        throw std::logic_error("curl_easy_setopt failed for option " + std::to_string(option));
    }
}

struct UrlDeleter {
    const CurlLibrary* curl = nullptr;
    void operator()(CURLU* url) const { curl->url_cleanup(url); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

// Checked before sending, so that a refusal by libcurl later (CURLE_UNSUPPORTED_PROTOCOL
// is also what an HTTP/0.9 "answer" gives) always means the server, not the URL.
util::Status check_url(const CurlLibrary& curl, const std::string& url, const std::string& what) {
    UrlHandle handle(curl.url(), UrlDeleter{&curl});
    if (!handle) return util::fail(util::ErrorCode::internal, what + ": out of memory");
    CURLUcode code = curl.url_set(handle.get(), CURLUPART_URL, url.c_str(), 0);
    if (code != CURLUE_OK) {
        return util::fail(util::ErrorCode::bad_input,
                          what + ": not a valid URL: " + curl.url_strerror(code));
    }
    char* scheme = nullptr;
    if (curl.url_get(handle.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        return util::fail(util::ErrorCode::bad_input, what + ": the URL has no scheme");
    }
    std::string name = scheme;
    curl.free(scheme);
    if (name != "http" && name != "https") {
        return util::fail(util::ErrorCode::bad_input,
                          what + ": only http:// and https:// URLs are supported");
    }
    return {};
}

}  // namespace

Result<Response> CurlHttpClient::send(const Request& request) {
    std::string what = std::string(to_string(request.method)) + " " + request.url;
    auto library = curl_library();
    if (!library) {
        auto error = library.error();
        error.message = what + ": " + error.message;
        return std::unexpected(std::move(error));
    }
    const CurlLibrary& curl = **library;
    if (auto checked = check_url(curl, request.url, what); !checked)
        return std::unexpected(checked.error());
    EasyHandle handle(curl.easy_init(), EasyDeleter{&curl});
    if (!handle) return util::fail(util::ErrorCode::internal, what + ": curl_easy_init failed");
    CURL* h = handle.get();

    char error_text[CURL_ERROR_SIZE] = {};
    Collector collector;
    collector.curl = &curl;
    collector.max_body_bytes = request.max_body_bytes;
    collector.handle = h;

    FileHandle upload_file;
    Upload upload;
    if (!request.body_file.empty()) {
        std::error_code ec;
        auto file_size = std::filesystem::file_size(request.body_file, ec);
        upload_file.reset(std::fopen(request.body_file.c_str(), "rb"));
        if (ec || !upload_file || request.body_offset > file_size ||
            std::fseek(upload_file.get(), static_cast<long>(request.body_offset), SEEK_SET) != 0) {
            return util::fail(util::ErrorCode::io,
                              what + ": cannot read the body from " + request.body_file.string());
        }
        upload.file = upload_file.get();
        upload.left = request.body_length.value_or(file_size - request.body_offset);
        if (request.body_offset + upload.left > file_size) {
            return util::fail(util::ErrorCode::io, what + ": " + request.body_file.string() +
                                                       " is shorter than the body to send");
        }
    }
    FileHandle download_file;
    if (!request.download_file.empty()) {
        download_file.reset(std::fopen(request.download_file.c_str(), "wb"));
        if (!download_file) {
            return util::fail(util::ErrorCode::io,
                              what + ": cannot write " + request.download_file.string());
        }
        collector.download = download_file.get();
    }

    HeaderList headers(nullptr, ListDeleter{&curl});
    for (const auto& header : request.headers) {
        // "Name:" with nothing after it tells libcurl to drop a header it would add itself.
        std::string line = header.name + ":";
        if (!header.value.empty()) line += " " + header.value;
        if (!append(headers, line))
            return util::fail(util::ErrorCode::internal, what + ": out of memory");
    }
    // No "Expect: 100-continue" round trip for large bodies.
    if (!append(headers, "Expect:"))
        return util::fail(util::ErrorCode::internal, what + ": out of memory");

    set(curl, h, CURLOPT_ERRORBUFFER, error_text);
    set(curl, h, CURLOPT_URL, request.url.c_str());
    set(curl, h, CURLOPT_PROTOCOLS_STR, "http,https");
    set(curl, h, CURLOPT_NOSIGNAL, 1L);
    set(curl, h, CURLOPT_FOLLOWLOCATION, 0L);
    set(curl, h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
    set(curl, h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
    set(curl, h, CURLOPT_USERAGENT, "sluice/0.1");
    set(curl, h, CURLOPT_HTTPHEADER, headers.get());
    set(curl, h, CURLOPT_WRITEFUNCTION, on_body);
    set(curl, h, CURLOPT_WRITEDATA, &collector);
    set(curl, h, CURLOPT_HEADERFUNCTION, on_header);
    set(curl, h, CURLOPT_HEADERDATA, &collector);
    if (request.method == Method::get) {
        set(curl, h, CURLOPT_HTTPGET, 1L);
    } else if (request.method == Method::head) {
        set(curl, h, CURLOPT_NOBODY, 1L);
    } else if (upload.file != nullptr) {
        set(curl, h, CURLOPT_UPLOAD, 1L);
        set(curl, h, CURLOPT_READFUNCTION, on_read);
        set(curl, h, CURLOPT_READDATA, &upload);
        set(curl, h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.left));
        if (request.method != Method::put) {
            set(curl, h, CURLOPT_CUSTOMREQUEST, std::string(to_string(request.method)).c_str());
        }
    } else {
        set(curl, h, CURLOPT_POSTFIELDS, request.body.c_str());
        set(curl, h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        if (request.method != Method::post) {
            set(curl, h, CURLOPT_CUSTOMREQUEST, std::string(to_string(request.method)).c_str());
        }
    }

    CURLcode code = curl.easy_perform(h);
    if (code != CURLE_OK) {
        std::string detail = error_text[0] != '\0' ? error_text : curl.easy_strerror(code);
        switch (code) {
            case CURLE_URL_MALFORMAT:
                return util::fail(util::ErrorCode::bad_input, what + ": cannot be sent: " + detail);
            case CURLE_OPERATION_TIMEDOUT:
                return util::fail(
                    util::ErrorCode::unavailable,
                    what + ": no answer in time (connect timeout " +
                        std::to_string(request.connect_timeout.count()) + " ms, total " +
                        std::to_string(request.total_timeout.count()) + " ms): " + detail);
            case CURLE_WRITE_ERROR:
                if (collector.download_failed) {
                    return util::fail(util::ErrorCode::io,
                                      what + ": cannot write " + request.download_file.string());
                }
                if (collector.too_long) {
                    return util::fail(util::ErrorCode::unavailable,
                                      what + ": the answer is longer than " +
                                          std::to_string(request.max_body_bytes) + " bytes");
                }
                [[fallthrough]];
            default:
                return util::fail(util::ErrorCode::unavailable, what + " failed: " + detail);
        }
    }

    if (download_file && std::fflush(download_file.get()) != 0) {
        return util::fail(util::ErrorCode::io,
                          what + ": cannot write " + request.download_file.string());
    }
    long status = 0;
    curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    collector.response.status = static_cast<int>(status);
    const char* content_type = nullptr;
    if (curl.easy_getinfo(h, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
        content_type != nullptr) {
        collector.response.content_type = content_type;
    }
    return std::move(collector.response);
}

}  // namespace sluice::http
