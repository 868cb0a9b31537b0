#include "plugin_share/plugin_source.hpp"

#include <algorithm>
#include <cctype>

#include "plugin_host/utf8_chunker.hpp"
#include "plugin_share/share_error.hpp"

namespace meshbot::share {

namespace fs = std::filesystem;
using plugins::printable;

namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool looks_like_id(std::string_view text) {
    return !text.empty() && text.size() <= 48 && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '@' || c == '.';
    });
}

// Splits "...@ref" off `repo`, looking only after `path_start` (an '@' before it is a user).
void split_ref(std::string& repo, std::string& ref, std::size_t path_start) {
    const auto at = repo.rfind('@');
    if (at == std::string::npos || at < path_start) return;
    ref = repo.substr(at + 1);
    repo.erase(at);
    if (ref.empty()) throw ShareError("'" + repo + "@': the ref after '@' is empty");
    check_ref(ref);
}

std::string strip_git(std::string path) {
    while (!path.empty() && path.front() == '/')
        path.erase(0, 1);
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".git") == 0)
        path.erase(path.size() - 4);
    return path;
}

// A git location must mean to git and to curl/ssh exactly what check_trusted() reads: no
// character that ends or re-encodes a host ('?', '#', '%', '\\'), no blanks or control bytes,
// and no "." or ".." path segment that would walk out of a trusted path prefix.
void check_location(const std::string& repo, std::size_t path_start) {
    for (const char c : repo) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '?' || c == '#' || c == '%' || c == '\\')
            throw ShareError("'" + printable(repo, 200) +
                             "': a git source may not hold blanks, control characters, '?', "
                             "'#', '%' or '\\'");
    }
    std::string_view path = std::string_view(repo).substr(path_start);
    while (!path.empty()) {
        const auto slash = path.find('/');
        const auto segment = path.substr(0, slash);
        if (segment == "." || segment == "..")
            throw ShareError("'" + repo + "': a git source may not hold '.' or '..' in its path");
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
}

}  // namespace

void check_ref(const std::string& ref) {
    const bool odd = std::any_of(ref.begin(), ref.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '~' || c == ':' || c == '\\' || c == '?' ||
               c == '*' || c == '[';
    });
    if (!ref.empty() && (ref.front() == '-' || odd || ref.find("..") != std::string::npos ||
                         ref.find("^{") != std::string::npos))
        throw ShareError("'" + ref + "' is not a tag, branch or commit name");
}

const char* to_string(PluginSource::Kind kind) {
    switch (kind) {
        case PluginSource::Kind::package:
            return "package";
        case PluginSource::Kind::folder:
            return "folder";
        case PluginSource::Kind::git:
            return "git";
        case PluginSource::Kind::index:
            return "index";
    }
    return "?";
}

PluginSource parse_source(std::string_view text) {
    PluginSource source;
    std::string repo(text);
    if (repo.empty()) throw ShareError("no source given");
    const auto scheme_end = repo.find("://");
    if (scheme_end != std::string::npos) {
        const auto scheme = lower(repo.substr(0, scheme_end));
        if (scheme != "file" && scheme != "https" && scheme != "ssh")
            throw ShareError("'" + repo + "': git sources use file://, https:// or ssh:// (" +
                             scheme + ":// is not supported)");
        const auto authority = scheme_end + 3;
        const auto path_start = repo.find('/', authority);
        if (path_start == std::string::npos || path_start + 1 >= repo.size())
            throw ShareError("'" + repo + "': no repository path after the host");
        split_ref(repo, source.ref, path_start);
        check_location(repo, path_start + 1);
        std::string host = repo.substr(authority, path_start - authority);
        if (const auto at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);
        if (host.size() > 1 && host.front() == '[') {
            host = host.substr(0, host.find(']') + 1);
        } else if (const auto colon = host.find(':'); colon != std::string::npos) {
            host.erase(colon);
        }
        if (scheme != "file" && host.empty())
            throw ShareError("'" + repo + "': no host in the URL");
        if (scheme == "file" && !host.empty() && host != "localhost")
            throw ShareError("'" + repo + "': a file:// URL names this machine (file:///path)");
        source.kind = PluginSource::Kind::git;
        source.host = scheme == "file" ? "" : lower(host);
        source.path = strip_git(repo.substr(path_start));
        source.location = repo;
        return source;
    }
    std::error_code ec;
    const fs::path path(repo);
    if (fs::exists(path, ec)) {
        source.kind =
            fs::is_directory(path, ec) ? PluginSource::Kind::folder : PluginSource::Kind::package;
        source.location = fs::absolute(path, ec).lexically_normal().string();
        return source;
    }
    // scp-like: [user@]host:path, as git itself accepts it (no '/' before the ':').
    const auto colon = repo.find(':');
    if (colon != std::string::npos && colon > 0 && repo.find('/') > colon) {
        split_ref(repo, source.ref, colon);
        check_location(repo, colon + 1);
        std::string host = repo.substr(0, colon);
        if (const auto at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);
        if (host.empty() || repo.size() == colon + 1)
            throw ShareError("'" + repo + "': expected user@host:path");
        source.kind = PluginSource::Kind::git;
        source.host = lower(host);
        source.path = strip_git(repo.substr(colon + 1));
        source.location = repo;
        return source;
    }
    if (looks_like_id(repo) && repo.find('/') == std::string::npos) {
        source.kind = PluginSource::Kind::index;
        split_ref(repo, source.ref, 0);
        source.location = repo;
        return source;
    }
    throw ShareError("'" + repo +
                     "': no such file or folder, and not a git URL (file://, https://, ssh://) "
                     "or a plugin id from an index");
}

void check_trusted(const PluginSource& source, const std::vector<std::string>& trusted,
                   const fs::path& config_file) {
    if (source.kind != PluginSource::Kind::git || source.host.empty()) return;
    const std::string where = source.host + "/" + source.path;
    for (const auto& entry : trusted) {
        const auto rule = lower(entry);
        const auto host_end = rule.find('/');
        const std::string host = rule.substr(0, host_end);
        if (host != source.host) continue;
        if (host_end == std::string::npos) return;
        const auto prefix = strip_git(rule.substr(host_end));
        const auto path = lower(source.path);
        if (path == prefix || path.rfind(prefix + "/", 0) == 0) return;
    }
    throw ShareError("refused: " + where +
                     " is not a trusted source. meshbot only fetches "
                     "from servers the operator allows: add \"" +
                     source.host + "\" (or \"" + where + "\") to [plugins] trusted_sources in " +
                     config_file.string());
}

}  // namespace meshbot::share
