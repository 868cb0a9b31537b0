#include "support/plugin_sources.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "support/bot_process.hpp"
#include "support/child_process.hpp"

namespace meshbot::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read_all(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_all(const fs::path& file, const std::string& text) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

void replace_in(const fs::path& file, const std::string& from, const std::string& to) {
    auto text = read_all(file);
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    write_all(file, text.replace(at, from.size(), to));
}

void must(const Ran& ran, const std::string& what) {
    INFO(what << ":\n" << ran.output);
    REQUIRE(ran.code == 0);
}

}  // namespace

fs::path installed_sdk() {
    return build_dir() / "out_of_tree/prefix";
}

fs::path built_template() {
    return build_dir() / "out_of_tree/template-build/plugins/hello";
}

Ran run(const std::vector<std::string>& argv, const fs::path& dir) {
    std::vector<std::string> command = argv;
    if (!dir.empty()) command = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", dir.string()};
    if (!dir.empty()) command.insert(command.end(), argv.begin(), argv.end());
    ChildProcess child(command);
    const auto code = child.wait_exit(120s);
    return Ran{code.value_or(-1), child.output()};
}

fs::path make_template_repo(const fs::path& dir) {
    const fs::path repo = dir / "hello-plugin";
    fs::create_directories(repo);
    const fs::path source = fs::path(MESHBOT_SOURCE_DIR) / "examples/plugin-template";
    for (const auto& entry : fs::directory_iterator(source)) {
        if (entry.is_regular_file()) fs::copy_file(entry.path(), repo / entry.path().filename());
    }
    if (!fs::exists(repo / "LICENSE")) write_all(repo / "LICENSE", "MIT License\n");
    const auto git = [&](std::vector<std::string> args) {
        args.insert(args.begin(),
                    {"git", "-c", "user.name=Test Author", "-c", "user.email=author@example.org",
                     "-c", "init.defaultBranch=main"});
        must(run(args, repo), "git");
    };
    git({"init", "--quiet"});
    git({"add", "-A"});
    git({"commit", "--quiet", "-m", "hello 1.0.0"});
    git({"tag", "v1.0.0"});
    replace_in(repo / "plugin.toml", "version = \"1.0.0\"", "version = \"1.1.0\"");
    replace_in(repo / "hello_plugin.cpp", "\"hello\", \"1.0.0\")", "\"hello\", \"1.1.0\")");
    replace_in(repo / "hello_plugin.cpp", "get_or(\"greeting\", \"hello\")",
               "get_or(\"greeting\", \"howdy\")");
    replace_in(repo / "plugin.toml", "default = \"hello\"", "default = \"howdy\"");
    git({"commit", "--quiet", "-am", "hello 1.1.0: says howdy"});
    git({"tag", "v1.1.0"});
    return repo;
}

std::string commit_of(const fs::path& repo, const std::string& ref) {
    const auto ran = run({"git", "rev-parse", ref + "^{commit}"}, repo);
    must(ran, "git rev-parse");
    return ran.output.substr(0, 40);
}

fs::path make_package(const fs::path& from, const fs::path& dir, void (*edit)(const fs::path&),
                      void (*after)(const fs::path&)) {
    const auto id = from.filename().string();
    const fs::path stage = dir / "package-stage";
    fs::remove_all(stage);
    fs::create_directories(stage / id);
    for (const auto& entry : fs::directory_iterator(from)) {
        if (entry.is_regular_file())
            fs::copy_file(entry.path(), stage / id / entry.path().filename());
    }
    write_all(stage / id / "README.md", "# " + id + "\n");
    write_all(stage / id / "LICENSE", "MIT License\n");
    if (edit) edit(stage / id);
    must(run({"/bin/sh", "-c", "sha256sum -- * > SHA256SUMS"}, stage / id), "sha256sum");
    if (after) after(stage / id);
    const fs::path package = dir / (id + "-1.0.0-linux-x86_64.meshbot-plugin");
    must(run({"tar", "-C", stage.string(), "-czf", package.string(), id}), "tar");
    return package;
}

bool patch_bytes(const fs::path& file, const std::string& from, const std::string& to) {
    REQUIRE(from.size() == to.size());
    auto bytes = read_all(file);
    const auto at = bytes.find(from);
    if (at == std::string::npos) return false;
    bytes.replace(at, from.size(), to);
    write_all(file, bytes);
    return true;
}

}  // namespace meshbot::testing
