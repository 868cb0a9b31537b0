#include "plugin_host/manifest.hpp"
#include "config/app_config.hpp"
#include "config/config_reader.hpp"
#include "config/text_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

namespace meshbot::plugins {
namespace {

using config::detail::describe;

constexpr std::size_t max_id_length = config::max_plugin_id_length;

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
    void error_at(toml::source_position pos, std::string_view key, std::string_view problem) {
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
    const toml::node* find(std::string_view key) const { return root_.get(key); }
    const std::string& source() const { return source_; }

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
    const auto bad = std::find_if_not(id->begin(), id->end(), config::is_plugin_id_char);
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

// "MAJOR.MINOR.PATCH" into three numbers; nullopt when it is anything else.
std::optional<std::tuple<unsigned, unsigned, unsigned>> parse_release(std::string_view v) {
    const auto parts = split_dots(v);
    if (parts.size() != 3) return std::nullopt;
    unsigned numbers[3] = {0, 0, 0};
    for (std::size_t i = 0; i < 3; ++i) {
        if (!is_number(parts[i]) || parts[i].size() > 9) return std::nullopt;
        for (const char c : parts[i])
            numbers[i] = numbers[i] * 10 + static_cast<unsigned>(c - '0');
    }
    return std::tuple(numbers[0], numbers[1], numbers[2]);
}

// The shape of an SPDX license expression (SPDX 2.3, annex D): license ids (an optional '+'
// after one), LicenseRef-/DocumentRef- ids, AND, OR, WITH and parentheses. The ids are not
// looked up: a new SPDX id must not make a manifest invalid.
class SpdxShape {
public:
    explicit SpdxShape(std::string_view text) {
        for (std::size_t i = 0; i < text.size();) {
            const char c = text[i];
            if (c == ' ' || c == '\t') {
                ++i;
            } else if (c == '(' || c == ')') {
                tokens_.emplace_back(text.substr(i++, 1));
            } else if (is_id_char(c)) {
                const std::size_t start = i;
                while (i < text.size() && (is_id_char(text[i]) || text[i] == '+'))
                    ++i;
                tokens_.emplace_back(text.substr(start, i - start));
            } else {
                problem_ = "unexpected character '" + std::string(1, c) + "'";
                return;
            }
        }
        if (tokens_.empty()) {
            problem_ = "is empty";
            return;
        }
        expression();
        if (problem_.empty() && at_ < tokens_.size()) fail("unexpected");
    }
    // "" when the text has the shape of an expression.
    const std::string& problem() const { return problem_; }

private:
    static bool is_id_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == ':';
    }
    static bool is_operator(std::string_view t) { return t == "AND" || t == "OR" || t == "WITH"; }
    std::string_view peek() const { return at_ < tokens_.size() ? tokens_[at_] : ""; }
    void fail(std::string_view what) {
        if (!problem_.empty()) return;
        const std::string_view t = peek();
        if (t == "and" || t == "or" || t == "with")
            problem_ = "operators are written AND, OR and WITH, not '" + std::string(t) + "'";
        else
            problem_ = std::string(what) + (t.empty() ? " end" : " '" + std::string(t) + "'");
    }
    void expression() {
        term();
        while (problem_.empty() && peek() == "OR") {
            ++at_;
            term();
        }
    }
    void term() {
        factor();
        while (problem_.empty() && peek() == "AND") {
            ++at_;
            factor();
        }
    }
    void factor() {
        if (peek() == "(") {
            ++at_;
            expression();
            if (!problem_.empty()) return;
            if (peek() != ")") return fail("expected ')' at");
            ++at_;
            return;
        }
        if (!license_id(false)) return;
        if (peek() == "WITH") {
            ++at_;
            license_id(true);
        }
    }
    bool license_id(bool exception) {
        const std::string_view t = peek();
        const auto plus = t.find('+');
        const bool bad_plus = plus != std::string_view::npos && (exception || plus + 1 != t.size());
        if (t.empty() || t == "(" || t == ")" || is_operator(t) || bad_plus || t == "+") {
            fail(exception ? "expected an exception id after WITH, got"
                           : "expected a license id, got");
            return false;
        }
        ++at_;
        return true;
    }

    std::vector<std::string_view> tokens_;
    std::size_t at_ = 0;
    std::string problem_;
};

bool has_space_or_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7F; });
}

// scheme://host... with one of `schemes`.
bool is_url(std::string_view url, std::initializer_list<std::string_view> schemes) {
    const auto sep = url.find("://");
    if (sep == std::string_view::npos || has_space_or_control(url)) return false;
    if (std::find(schemes.begin(), schemes.end(), url.substr(0, sep)) == schemes.end())
        return false;
    std::string_view host = url.substr(sep + 3);
    host = host.substr(0, host.find_first_of("/?#"));
    if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
    host = host.substr(0, host.find(':'));
    return !host.empty();
}

// git's scp-like form: user@host:path.
bool is_scp_like(std::string_view url) {
    const auto at = url.find('@');
    const auto colon = url.find(':');
    return !has_space_or_control(url) && url.find("://") == std::string_view::npos &&
           at != std::string_view::npos && at > 0 && colon != std::string_view::npos &&
           colon > at + 1 && colon + 1 < url.size();
}

void read_license(Reader& r, Manifest& m) {
    auto license = r.string("license", false);
    if (!license) return;
    SpdxShape shape(*license);
    if (!shape.problem().empty())
        r.error(r.node("license"), "license",
                "\"" + *license +
                    "\" is not an SPDX expression like \"MIT\" or \"Apache-2.0 OR "
                    "MIT\" (" +
                    shape.problem() + ")");
    else
        m.license = std::move(*license);
}

void read_authors(Reader& r, Manifest& m) {
    const toml::node* node = r.find("authors");
    if (!node) return;
    const auto* array = node->as_array();
    if (!array) {
        r.error(*node, "authors",
                "expected an array of strings like [\"Name <mail>\"], got " + describe(*node));
        return;
    }
    for (const auto& element : *array) {
        const auto* str = element.as_string();
        if (!str) {
            r.error(element, "authors", "expected a string, got " + describe(element));
            continue;
        }
        const std::string& a = str->get();
        const auto open = a.find('<');
        const bool good_mail =
            open == std::string::npos ||
            (open > 0 && a.back() == '>' && a.find('@', open) != std::string::npos &&
             a.find('<', open + 1) == std::string::npos);
        if (a.find_first_not_of(" \t") == std::string::npos)
            r.error(element, "authors", "an author must not be empty");
        else if (a.find_first_of("\r\n") != std::string::npos)
            r.error(element, "authors", "an author must be one line");
        else if (!good_mail)
            r.error(element, "authors",
                    "expected \"Name\" or \"Name <mail@host>\", got " + describe(element));
        else
            m.authors.push_back(a);
    }
}

void read_links(Reader& r, Manifest& m) {
    if (auto homepage = r.string("homepage", false)) {
        if (is_url(*homepage, {"https", "http"}))
            m.homepage = std::move(*homepage);
        else
            r.error(r.node("homepage"), "homepage",
                    "expected an http(s) URL like \"https://example.org/plugin\", got " +
                        describe(r.node("homepage")));
    }
    if (auto source = r.string("source", false)) {
        if (is_url(*source, {"https", "http", "git", "ssh", "git+ssh", "git+https"}) ||
            is_scp_like(*source))
            m.source = std::move(*source);
        else
            r.error(r.node("source"), "source",
                    "expected a URL of the code (https://, git://, ssh:// or git@host:path), "
                    "got " +
                        describe(r.node("source")));
    }
}

void read_min_meshbot(Reader& r, Manifest& m) {
    auto min = r.string("min_meshbot", false, " like \"1.2.0\"");
    if (!min) return;
    if (parse_release(*min))
        m.min_meshbot = std::move(*min);
    else
        r.error(r.node("min_meshbot"), "min_meshbot",
                "\"" + *min + "\" is not a version MAJOR.MINOR.PATCH (e.g. \"0.1.0\")");
}

void read_schema(Reader& r, Manifest& m) {
    const toml::node* node = r.find("config");
    if (!node) return;
    m.config_schema =
        read_config_schema(*node, r.source(),
                           [&r](toml::source_position at, const std::string& key,
                                const std::string& problem) { r.error_at(at, key, problem); });
}

}  // namespace

std::string check_min_meshbot(const Manifest& m, std::string_view host_version) {
    const auto needs = parse_release(m.min_meshbot);
    if (!needs) return {};
    const auto core = host_version.substr(0, host_version.find_first_of("-+"));
    const auto host = parse_release(core);
    if (host && *host >= *needs) return {};
    return "needs meshbot >= " + m.min_meshbot + ", this is " + std::string(host_version);
}

bool version_older(std::string_view a, std::string_view b) {
    const auto core = [](std::string_view v) { return v.substr(0, v.find_first_of("-+")); };
    const auto ra = parse_release(core(a)), rb = parse_release(core(b));
    if (!ra || !rb) return a < b;
    if (*ra != *rb) return *ra < *rb;
    // A pre-release comes before its release: 1.2.0-rc1 < 1.2.0.
    const bool pre_a = core(a).size() < a.size() && a[core(a).size()] == '-';
    const bool pre_b = core(b).size() < b.size() && b[core(b).size()] == '-';
    return pre_a && !pre_b;
}

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
    read_license(r, m);
    read_authors(r, m);
    read_links(r, m);
    read_min_meshbot(r, m);
    read_schema(r, m);

    // Unknown keys are ignored, so a manifest written for a newer host still loads; the
    // warning catches typos ("permisions").
    static const std::vector<std::string> known_keys = {
        "id",      "name",    "version",  "api_version", "description", "library", "permissions",
        "license", "authors", "homepage", "source",      "min_meshbot", "config"};
    for (const auto& [key, value] : root) {
        if (std::find(known_keys.begin(), known_keys.end(), key.str()) != known_keys.end())
            continue;
        const auto hint = config::detail::close_match(key.str(), known_keys);
        r.warn(key.source().begin, std::string("unknown ") + (value.is_table() ? "table" : "key") +
                                       " '" + std::string(key.str()) + "' (ignored" +
                                       (hint.empty() ? "" : ", did you mean '" + hint + "'?") +
                                       ")");
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
