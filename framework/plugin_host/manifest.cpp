#include "plugin_host/manifest.hpp"
#include "config/config_reader.hpp"
#include "config/text_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

namespace meshbot::plugins {
namespace {

using config::detail::describe;

constexpr std::size_t max_id_length = 32;

// One problem, kept with its position so the report reads in file order; line 0 = no
// position (a missing key), reported after the others.
struct Finding {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    std::string text;
    bool operator<(const Finding& o) const {
        const auto key = [](const Finding& f) { return std::tuple(f.line == 0, f.line, f.column); };
        return key(*this) < key(o);
    }
};

// A decimal number without sign or leading zero, as semver wants them.
bool is_number(std::string_view s) {
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_alnum_or_dash(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

// The dot-separated parts of `s`, empty ones included.
std::vector<std::string_view> split_dots(std::string_view s) {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        const std::size_t dot = s.find('.', start);
        parts.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos) return parts;
        start = dot + 1;
    }
}

// Semantic Versioning 2.0.0: MAJOR.MINOR.PATCH, then optional -prerelease and +build.
bool is_semver(std::string_view v) {
    std::string_view build;
    if (const auto plus = v.find('+'); plus != std::string_view::npos) {
        build = v.substr(plus + 1);
        v = v.substr(0, plus);
        for (const auto id : split_dots(build))
            if (id.empty() || !std::all_of(id.begin(), id.end(), is_alnum_or_dash)) return false;
    }
    if (const auto dash = v.find('-'); dash != std::string_view::npos) {
        for (const auto id : split_dots(v.substr(dash + 1))) {
            if (id.empty() || !std::all_of(id.begin(), id.end(), is_alnum_or_dash)) return false;
            const bool digits_only =
                std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (digits_only && !is_number(id)) return false;  // "01" is not allowed
        }
        v = v.substr(0, dash);
    }
    const auto core = split_dots(v);
    return core.size() == 3 && std::all_of(core.begin(), core.end(), is_number);
}

// "MAJOR.MINOR" into two numbers; nullopt when it is anything else.
std::optional<std::pair<unsigned, unsigned>> parse_api_version(std::string_view v) {
    const auto parts = split_dots(v);
    if (parts.size() != 2) return std::nullopt;
    unsigned numbers[2] = {0, 0};
    for (std::size_t i = 0; i < 2; ++i) {
        // Nine digits fit any unsigned; no ABI version comes near.
        if (!is_number(parts[i]) || parts[i].size() > 9) return std::nullopt;
        for (const char c : parts[i])
            numbers[i] = numbers[i] * 10 + static_cast<unsigned>(c - '0');
    }
    return std::pair(numbers[0], numbers[1]);
}

class Reader {
public:
    Reader(const toml::table& root, std::string source) : root_(root), source_(std::move(source)) {}

    std::string where(toml::source_position at) const {
        return config::detail::position(source_, at);
    }
    void error(const toml::node& at, std::string_view key, std::string_view problem) {
        const auto pos = at.source().begin;
        errors_.push_back({pos.line, pos.column,
                           where(pos) + ": " + std::string(key) + ": " + std::string(problem)});
    }
    void warn(toml::source_position pos, std::string text) {
        warnings_.push_back({pos.line, pos.column, where(pos) + ": " + std::move(text)});
    }

    // The string at `key`: nullopt, with an error, when it is missing (and required) or not a
    // string.
    std::optional<std::string> string(std::string_view key, bool required,
                                      std::string_view hint = "") {
        const toml::node* node = root_.get(key);
        if (node == nullptr) {
            if (required)
                errors_.push_back(
                    {0, 0, source_ + ": " + std::string(key) + ": missing (a required key)"});
            return std::nullopt;
        }
        if (const auto* str = node->as_string()) return str->get();
        error(*node, key, "expected a string" + std::string(hint) + ", got " + describe(*node));
        return std::nullopt;
    }

    const toml::node& node(std::string_view key) const { return *root_.get(key); }

    std::vector<std::string> finish() {
        if (!errors_.empty()) {
            std::stable_sort(errors_.begin(), errors_.end());
            std::string message;
            for (const auto& e : errors_)
                message += (message.empty() ? "" : "\n") + e.text;
            throw ManifestError(message);
        }
        std::stable_sort(warnings_.begin(), warnings_.end());
        std::vector<std::string> out;
        for (auto& w : warnings_)
            out.push_back(std::move(w.text));
        return out;
    }

private:
    const toml::table& root_;
    std::string source_;
    std::vector<Finding> errors_;
    std::vector<Finding> warnings_;
};

void read_id(Reader& r, Manifest& m) {
    const auto id = r.string("id", true);
    if (!id) return;
    const auto bad = std::find_if(id->begin(), id->end(), [](char c) {
        return !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    });
    if (id->empty())
        r.error(r.node("id"), "id", "must not be empty");
    else if (id->size() > max_id_length)
        r.error(r.node("id"), "id",
                "is " + std::to_string(id->size()) + " characters long, at most " +
                    std::to_string(max_id_length) + " are allowed");
    else if (bad != id->end())
        r.error(r.node("id"), "id",
                "may contain only a-z, 0-9, '_' and '-', not '" + std::string(1, *bad) + "'");
    else
        m.id = *id;
}

void read_library(Reader& r, Manifest& m) {
    const auto library = r.string("library", false);
    if (!library) {
        if (!m.id.empty()) m.library = m.id + ".so";
        return;
    }
    // Only a name in the plugin's own folder: a manifest must not point the host at some
    // other .so on the machine.
    if (library->empty() || *library == "." || *library == ".." ||
        library->find_first_of(std::string_view("/\0", 2)) != std::string::npos)
        r.error(r.node("library"), "library",
                "must be a file name in the plugin's folder (no '/'), got \"" + *library + "\"");
    else
        m.library = *library;
}

void read_permissions(Reader& r, const toml::array& array, Manifest& m) {
    for (const auto& element : array) {
        const auto* str = element.as_string();
        if (str == nullptr) {
            r.error(element, "permissions", "expected a string, got " + describe(element));
            continue;
        }
        const std::string& p = str->get();
        if (std::find(std::begin(known_permissions), std::end(known_permissions), p) ==
            std::end(known_permissions)) {
            std::string known;
            for (const auto k : known_permissions)
                known += (known.empty() ? "" : ", ") + std::string(k);
            r.error(element, "permissions",
                    "unknown permission \"" + p + "\" (known: " + known + ")");
        } else if (std::find(m.permissions.begin(), m.permissions.end(), p) !=
                   m.permissions.end()) {
            r.warn(element.source().begin, "permissions: \"" + p + "\" is listed twice");
        } else {
            m.permissions.push_back(p);
        }
    }
}

}  // namespace

bool Manifest::wants(std::string_view permission) const {
    return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
}

ManifestLoad parse_manifest(std::string_view toml_text, const std::filesystem::path& file) {
    const std::string source = file.string();
    toml::table root;
    try {
        root = toml::parse(toml_text, std::string_view{source});
    } catch (const toml::parse_error& e) {
        const auto pos = e.source().begin;
        throw ManifestError(source + ":" + std::to_string(pos.line) + ":" +
                            std::to_string(pos.column) +
                            ": TOML syntax error: " + std::string(e.description()));
    }

    ManifestLoad result;
    Manifest& m = result.manifest;
    m.dir = file.parent_path();
    Reader r(root, source);

    read_id(r, m);
    if (auto name = r.string("name", true)) {
        if (name->find_first_not_of(" \t") == std::string::npos)
            r.error(r.node("name"), "name", "must not be empty");
        else
            m.name = std::move(*name);
    }
    if (auto version = r.string("version", true)) {
        const std::string problem = "\"" + *version + "\" is not a semantic version";
        if (!is_semver(*version))
            r.error(r.node("version"), "version", problem + " MAJOR.MINOR.PATCH (e.g. \"1.0.0\")");
        else
            m.version = std::move(*version);
    }
    // A bare 1.0 is a TOML float; say how to write it instead of only "expected a string".
    if (const auto api = r.string("api_version", true, " like \"1.0\"")) {
        if (const auto parsed = parse_api_version(*api)) {
            std::tie(m.api_major, m.api_minor) = *parsed;
        } else {
            r.error(r.node("api_version"), "api_version",
                    "\"" + *api + "\" is not MAJOR.MINOR (e.g. \"1.0\")");
        }
    }
    if (auto description = r.string("description", false)) m.description = std::move(*description);
    read_library(r, m);
    if (const toml::node* permissions = root.get("permissions")) {
        if (const auto* array = permissions->as_array())
            read_permissions(r, *array, m);
        else
            r.error(
                *permissions, "permissions",
                "expected an array of strings like [\"network\"], got " + describe(*permissions));
    }

    // Unknown keys are ignored, so a manifest written for a newer host still loads; the
    // warning catches typos ("permisions").
    static constexpr std::string_view known_keys[] = {
        "id", "name", "version", "api_version", "description", "library", "permissions"};
    for (const auto& [key, value] : root) {
        if (std::find(std::begin(known_keys), std::end(known_keys), key.str()) ==
            std::end(known_keys))
            r.warn(key.source().begin, std::string("unknown ") +
                                           (value.is_table() ? "table" : "key") + " '" +
                                           std::string(key.str()) + "' (ignored)");
    }
    result.warnings = r.finish();
    return result;
}

ManifestLoad load_manifest(const std::filesystem::path& file) {
    auto cannot_read = [&file](int error) {
        return ManifestError("cannot read manifest '" + file.string() +
                             "': " + std::generic_category().message(error));
    };
    int error = 0;
    const auto text = config::read_text_file(file, error);
    if (!text) throw cannot_read(error);
    return parse_manifest(*text, file);
}

}  // namespace meshbot::plugins
