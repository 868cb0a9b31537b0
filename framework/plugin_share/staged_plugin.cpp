#include "plugin_share/staged_plugin.hpp"

#include "plugin_host/elf_audit.hpp"
#include "plugin_host/file_digest.hpp"
#include "plugin_host/library_checks.hpp"
#include "plugin_share/share_error.hpp"

namespace meshbot::share {

namespace fs = std::filesystem;

namespace {

bool is_document(const std::string& name) {
    for (const char* prefix : {"README", "LICENSE", "LICENCE", "COPYING", "NOTICE"}) {
        if (name.rfind(prefix, 0) == 0) return true;
    }
    return false;
}

}  // namespace

void copy_plugin_folder(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::create_directories(to, ec);
    if (ec) throw ShareError("cannot create " + to.string() + ": " + ec.message());
    if (!fs::exists(from / "plugin.toml", ec))
        throw ShareError("refused: " + from.string() + " is not a plugin folder (no plugin.toml)");
    for (const auto& entry : fs::directory_iterator(from, ec)) {
        const auto status = entry.symlink_status(ec);
        const auto name = entry.path().filename().string();
        if (fs::is_directory(status)) continue;  // a build's CMakeFiles/, never the plugin's
        if (!fs::is_regular_file(status))
            throw ShareError("refused: " + entry.path().string() +
                             " is not a regular file (links are never installed)");
        fs::copy_file(entry.path(), to / name, ec);
        if (ec) throw ShareError("cannot copy " + entry.path().string() + ": " + ec.message());
    }
    if (ec) throw ShareError("cannot read " + from.string() + ": " + ec.message());
}

void copy_documents(const fs::path& source, const fs::path& to) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(source, ec)) {
        const auto name = entry.path().filename().string();
        if (!is_document(name) || !fs::is_regular_file(entry.symlink_status(ec))) continue;
        if (!fs::exists(to / name, ec)) fs::copy_file(entry.path(), to / name, ec);
    }
}

StagedPlugin check_staged(const fs::path& folder) {
    StagedPlugin staged;
    staged.folder = folder;
    try {
        auto loaded = plugins::load_manifest(folder / "plugin.toml");
        staged.manifest = std::move(loaded.manifest);
        staged.warnings = std::move(loaded.warnings);
    } catch (const plugins::ManifestError& e) {
        throw ShareError(std::string("refused: the manifest is not valid:\n") + e.what());
    }
    const auto& m = staged.manifest;
    const auto who = "plugin " + m.id + " " + m.version;
    if (const auto refused = plugins::check_library(m))
        throw ShareError("refused: " + who + ": " + refused->reason);
    const auto library = m.library_path();
    try {
        const auto audit =
            plugins::audit_network_imports(plugins::undefined_dynamic_symbols(library));
        if (!audit.ok && !m.wants("network")) {
            std::string names;
            for (const auto& s : audit.network_symbols)
                names += (names.empty() ? "" : ", ") + s;
            throw ShareError("refused: " + who + ": " + m.library + " imports socket APIs (" +
                             names +
                             ") but its manifest does not ask for the network permission, so "
                             "the bot would never load it");
        }
    } catch (const ShareError&) {
        throw;
    } catch (const std::exception& e) {
        throw ShareError("refused: " + who + ": " + e.what());
    }
    std::string why;
    const auto digest = plugins::sha256_of_file(library, why);
    if (!digest) throw ShareError(why);
    staged.library_sha256 = *digest;
    return staged;
}

std::string describe_permission(const std::string& permission) {
    if (permission == "network")
        return "network: may connect to other machines and look up names (never to the radio)";
    if (permission == "exec") return "exec: may run programs on this machine (inside its sandbox)";
    return permission;
}

}  // namespace meshbot::share
