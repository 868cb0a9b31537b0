// The pure parts of sharing plugins: what a SOURCE argument means, which servers are trusted,
// what a package may hold, checksum lists, the lock file and index files.
#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <fstream>

#include "plugin_host/file_digest.hpp"
#include "plugin_host/plugin_lock.hpp"
#include "plugin_share/install_lock.hpp"
#include "plugin_share/package_archive.hpp"
#include "plugin_share/plugin_index.hpp"
#include "plugin_share/plugin_source.hpp"
#include "plugin_share/share_error.hpp"
#include "support/temp_dir.hpp"

using namespace meshbot::share;
using meshbot::testing::TempDir;
namespace fs = std::filesystem;
using Kind = PluginSource::Kind;

namespace {

struct ArchiveEntry {
    std::string name;
    std::string content;
    unsigned type = AE_IFREG;
    std::string link;
};

ArchiveEntry file_entry(std::string name, std::string content) {
    return ArchiveEntry{std::move(name), std::move(content), AE_IFREG, {}};
}
ArchiveEntry folder_entry(std::string name) {
    return ArchiveEntry{std::move(name), {}, AE_IFDIR, {}};
}
ArchiveEntry link_entry(std::string name, std::string target) {
    return ArchiveEntry{std::move(name), {}, AE_IFLNK, std::move(target)};
}

// A tar.gz written with libarchive, so that entries no honest packer makes can be tried.
fs::path write_archive(const fs::path& file, const std::vector<ArchiveEntry>& entries) {
    archive* out = archive_write_new();
    archive_write_add_filter_gzip(out);
    archive_write_set_format_pax_restricted(out);
    REQUIRE(archive_write_open_filename(out, file.c_str()) == ARCHIVE_OK);
    for (const auto& e : entries) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, e.name.c_str());
        archive_entry_set_filetype(entry, e.type);
        archive_entry_set_perm(entry, 0644);
        archive_entry_set_size(entry,
                               e.type == AE_IFREG ? static_cast<la_int64_t>(e.content.size()) : 0);
        if (!e.link.empty()) archive_entry_set_symlink(entry, e.link.c_str());
        archive_write_header(out, entry);
        if (e.type == AE_IFREG) archive_write_data(out, e.content.data(), e.content.size());
        archive_entry_free(entry);
    }
    archive_write_close(out);
    archive_write_free(out);
    return file;
}

std::string sums_line(const std::string& content, const std::string& name) {
    return meshbot::plugins::sha256_of(content) + "  " + name + "\n";
}

}  // namespace

TEST_CASE("a SOURCE argument is a package, a folder, a git URL with its ref, or an index id",
          "[share]") {
    TempDir dir;
    const auto package = dir.write("hello.meshbot-plugin", "x");
    CHECK(parse_source(package.string()).kind == Kind::package);
    CHECK(parse_source(dir.path().string()).kind == Kind::folder);

    const auto https = parse_source("https://GitHub.com/Someone/hello.git@v1.2.0");
    CHECK(https.kind == Kind::git);
    CHECK(https.location == "https://GitHub.com/Someone/hello.git");
    CHECK(https.ref == "v1.2.0");
    CHECK(https.host == "github.com");
    CHECK(https.path == "Someone/hello");

    const auto ssh = parse_source("ssh://git@example.org:2222/team/hello");
    CHECK(ssh.host == "example.org");
    CHECK(ssh.ref.empty());
    const auto scp = parse_source("git@example.org:team/hello.git@main");
    CHECK(scp.kind == Kind::git);
    CHECK(scp.host == "example.org");
    CHECK(scp.ref == "main");
    CHECK(scp.location == "git@example.org:team/hello.git");

    const auto local = parse_source("file:///srv/git/hello@v1");
    CHECK(local.host.empty());
    CHECK(local.ref == "v1");

    const auto id = parse_source("weather@1.2.0");
    CHECK(id.kind == Kind::index);
    CHECK(id.location == "weather");
    CHECK(id.ref == "1.2.0");

    CHECK_THROWS_WITH(parse_source("http://example.org/hello"),
                      Catch::Contains("file://, https:// or ssh://"));
    CHECK_THROWS_WITH(parse_source("./no/such/folder"), Catch::Contains("no such file or folder"));
    CHECK_THROWS_WITH(parse_source("https://example.org/x@"), Catch::Contains("empty"));
    CHECK_THROWS_WITH(parse_source("file://elsewhere/x"), Catch::Contains("this machine"));
    // A ref git would read as an option, or as something other than a name.
    CHECK_THROWS_WITH(parse_source("file:///srv/hello@--output=/tmp/x"),
                      Catch::Contains("not a tag, branch or commit name"));
    CHECK_THROWS(parse_source("file:///srv/hello@main..evil"));
    CHECK_THROWS(parse_source("file:///srv/hello@v1 x"));
    CHECK_THROWS(check_ref("-h"));
    CHECK_NOTHROW(check_ref("release/1.2"));
}

TEST_CASE("only servers in trusted_sources are contacted; local sources always pass", "[share]") {
    const fs::path config = "/etc/meshbot/meshbot.toml";
    const auto check = [&](const std::string& source, std::vector<std::string> trusted) {
        check_trusted(parse_source(source), trusted, config);
    };
    CHECK_NOTHROW(check("file:///srv/hello", {}));
    CHECK_THROWS_WITH(check("https://github.com/someone/hello", {}),
                      Catch::Contains("github.com/someone/hello is not a trusted source") &&
                          Catch::Contains("/etc/meshbot/meshbot.toml"));
    CHECK_NOTHROW(check("https://github.com/someone/hello", {"github.com"}));
    CHECK_NOTHROW(check("https://github.com/someone/hello", {"GitHub.com/someone"}));
    CHECK_NOTHROW(check("git@github.com:someone/hello.git", {"github.com/someone/hello"}));
    // A prefix matches at a '/' only: someone-else is not someone.
    CHECK_THROWS(check("https://github.com/someone-else/hello", {"github.com/someone"}));
    CHECK_THROWS(check("https://github.com.evil.example/someone/hello", {"github.com"}));
    CHECK_THROWS(check("https://evil@gitlab.com/someone/hello", {"github.com"}));
    // Spellings where curl, ssh or git would reach another host or path than the one checked.
    CHECK_THROWS_WITH(check("https://127.0.0.1:18443?@github.com/x/y.git", {"github.com"}),
                      Catch::Contains("may not hold"));
    CHECK_THROWS(check("https://127.0.0.1#@github.com/x/y.git", {"github.com"}));
    CHECK_THROWS(check("ssh://127.0.0.1:12222%2F@github.com/x/y", {"github.com"}));
    CHECK_THROWS_WITH(check("https://github.com/someone/../mallory/repo", {"github.com/someone"}),
                      Catch::Contains("'..'"));
    CHECK_THROWS(check("git@github.com:someone/./../mallory/repo", {"github.com/someone"}));
}

TEST_CASE("a package unpacks into one folder and nothing outside it", "[share]") {
    TempDir dir;
    const auto into = dir.path() / "into";
    fs::create_directories(into);
    SECTION("a good package") {
        const auto p = write_archive(
            dir.path() / "ok.tgz",
            {folder_entry("hello/"), file_entry("hello/plugin.toml", "id = \"hello\"\n"),
             file_entry("hello/SHA256SUMS", sums_line("id = \"hello\"\n", "plugin.toml"))});
        const auto folder = unpack_package(p, into);
        CHECK(folder == into / "hello");
        CHECK_NOTHROW(verify_checksums(folder, true));
    }
    const auto refused = [&](const std::vector<ArchiveEntry>& entries, const std::string& why) {
        const auto p = write_archive(dir.path() / "bad.tgz", entries);
        CHECK_THROWS_WITH(unpack_package(p, into), Catch::Contains(why));
        CHECK(!fs::exists(dir.path() / "evil"));
    };
    SECTION("a path that climbs out") {
        refused({file_entry("hello/../../evil", "x")}, "refused");
    }
    SECTION("an absolute path") {
        refused({file_entry("/tmp/evil", "x")}, "refused");
    }
    SECTION("a symbolic link") {
        refused({link_entry("hello/plugin.toml", "/etc/passwd")}, "not a regular file");
    }
    SECTION("two top folders") {
        refused({file_entry("hello/a", "x"), file_entry("other/b", "y")},
                "more than one top folder");
    }
    SECTION("a nested folder") {
        refused({file_entry("hello/sub/file", "x")}, "refused");
    }
    SECTION("not an archive at all") {
        const auto p = dir.write("junk.meshbot-plugin", "not gzip");
        CHECK_THROWS_WITH(unpack_package(p, into), Catch::Contains("not a plugin package"));
    }
}

TEST_CASE("a checksum list covers every file and every digest matches", "[share]") {
    TempDir dir;
    dir.write("p/plugin.toml", "a");
    dir.write("p/hello.so", "b");
    const auto folder = dir.path() / "p";
    dir.write("p/SHA256SUMS", sums_line("a", "plugin.toml") + sums_line("b", "hello.so"));
    CHECK_NOTHROW(verify_checksums(folder, true));
    dir.write("p/SHA256SUMS", sums_line("a", "plugin.toml") + sums_line("c", "hello.so"));
    CHECK_THROWS_WITH(verify_checksums(folder, true),
                      Catch::Contains("checksum mismatch for hello.so"));
    dir.write("p/SHA256SUMS", sums_line("a", "plugin.toml"));
    CHECK_THROWS_WITH(verify_checksums(folder, true),
                      Catch::Contains("hello.so is not in the checksum list"));
    dir.write("p/SHA256SUMS", "garbage\n");
    CHECK_THROWS_WITH(verify_checksums(folder, true), Catch::Contains("SHA256SUMS:1"));
    fs::remove(folder / "SHA256SUMS");
    CHECK_THROWS_WITH(verify_checksums(folder, true), Catch::Contains("no checksum list"));
    CHECK_NOTHROW(verify_checksums(folder, false));
}

TEST_CASE("the lock file keeps what was installed and grants only to that library", "[share]") {
    TempDir dir;
    const auto data = dir.path();
    const auto library = dir.write("plugins/hello/hello.so", "the library");
    meshbot::plugins::LockEntry entry;
    entry.id = "hello";
    entry.version = "1.0.0";
    entry.kind = "git";
    entry.source = "file:///srv/hello";
    entry.ref = "v1.0.0";
    entry.commit = std::string(40, 'a');
    entry.sha256 = meshbot::plugins::sha256_of("the library");
    entry.granted = {"network"};
    meshbot::plugins::write_lock(meshbot::plugins::lock_file(data), {entry});
    const auto read = meshbot::plugins::read_lock(meshbot::plugins::lock_file(data));
    REQUIRE(read.size() == 1);
    CHECK(read[0].commit == entry.commit);
    CHECK(read[0].granted == std::vector<std::string>{"network"});

    std::string problem;
    CHECK(meshbot::plugins::granted_at_install(data, "hello", library, problem) ==
          std::vector<std::string>{"network"});
    // Another plugin folder, or the same one with other code, gets nothing.
    const auto elsewhere = dir.write("elsewhere/hello/hello.so", "the library");
    CHECK(meshbot::plugins::granted_at_install(data, "hello", elsewhere, problem).empty());
    dir.write("plugins/hello/hello.so", "other code");
    CHECK(meshbot::plugins::granted_at_install(data, "hello", library, problem).empty());
    CHECK_THAT(problem, Catch::Contains("not the one installed"));

    dir.write("plugins.lock", "format = 1\n[[plugin]]\nid = 3\n");
    CHECK_THROWS_WITH(meshbot::plugins::read_lock(meshbot::plugins::lock_file(data)),
                      Catch::Contains("plugins.lock:3:"));
}

TEST_CASE("index files are checked, with file:line:column", "[share]") {
    TempDir dir;
    const auto refused = [&](const std::string& body, const std::string& why) {
        const auto file = dir.write("meshbot-index.toml", "name = \"t\"\n" + body);
        CHECK_THROWS_WITH(read_index(file), Catch::Contains(why));
    };
    refused("[[plugin]]\nid = \"Bad Id\"\ndescription = \"d\"\nlicense = \"MIT\"\n",
            "meshbot-index.toml:3:6: 'id' must be a plugin id");
    refused("[[plugin]]\nid = \"a\"\ndescription = \"d\"\nlicense = \"MIT\"\n", "lists no");
    refused(
        "[[plugin]]\nid = \"a\"\ndescription = \"d\"\nlicense = \"MIT\"\nsource = \"x\"\n"
        "[[plugin.version]]\nversion = \"1.0.0\"\ncommit = \"abc\"\n",
        "40 hex digits");
    refused(
        "[[plugin]]\nid = \"a\"\ndescription = \"d\"\nlicense = \"MIT\"\n"
        "[[plugin.version]]\nversion = \"1.0.0\"\ncommit = \"" +
            std::string(40, 'a') + "\"\n",
        "names no 'source'");
    refused(
        "[[plugin]]\nid = \"a\"\ndescription = \"d\"\nlicense = \"MIT\"\n"
        "[[plugin.version]]\nversion = \"1.0.0\"\npackage = \"a.meshbot-plugin\"\n",
        "needs its 'sha256'");
}

TEST_CASE("the index shipped with meshbot is valid", "[share]") {
    const auto index =
        read_index(fs::path(MESHBOT_SOURCE_DIR) / "examples/plugin-index/meshbot-index.toml");
    CHECK(index.name == "meshbot-bundled");
    std::vector<std::string> ids;
    for (const auto& p : index.plugins)
        ids.push_back(p.id);
    CHECK(ids == std::vector<std::string>{"echo", "monitor", "remote"});
}

TEST_CASE("a checksum list with CR line ends or a file listed twice is refused", "[share]") {
    TempDir dir;
    dir.write("p/plugin.toml", "a");
    const auto folder = dir.path() / "p";
    auto line = sums_line("a", "plugin.toml");
    dir.write("p/SHA256SUMS", line.substr(0, line.size() - 1) + "\r\n");
    CHECK_THROWS_WITH(verify_checksums(folder, true), Catch::Contains("carriage return"));
    dir.write("p/SHA256SUMS", line + line);
    CHECK_THROWS_WITH(verify_checksums(folder, true), Catch::Contains("listed twice"));
}

TEST_CASE("an index points only at git URLs and at package files inside its own folder",
          "[share]") {
    TempDir dir;
    meshbot::config::AppConfig config;
    config.bot.data_dir = dir.path() / "data";
    const std::string sha(64, 'a');
    const auto write = [&](const std::string& folder, const std::string& name,
                           const std::string& version) {
        dir.write(folder + "/meshbot-index.toml",
                  "name = \"" + name + "\"\n[[plugin]]\nid = \"x\"\ndescription = \"d\"\n" +
                      "license = \"MIT\"\nsource = \"" + dir.path().string() + "\"\n" + version);
        return (dir.path() / folder).string();
    };
    IndexSet indexes(config);
    PluginSource wanted;
    wanted.kind = Kind::index;
    wanted.location = "x";

    dir.write("outside.meshbot-plugin", "x");
    indexes.add(write("a", "a",
                      "[[plugin.version]]\nversion = \"1.0.0\"\npackage = "
                      "\"../outside.meshbot-plugin\"\nsha256 = \"" +
                          sha + "\"\n"));
    CHECK_THROWS_WITH(indexes.lookup(wanted), Catch::Contains("no package file inside"));

    indexes.add(write("a", "a",
                      "[[plugin.version]]\nversion = \"1.0.0\"\npackage = \"folder\"\nsha256 = \"" +
                          sha + "\"\n"));
    std::filesystem::create_directories(dir.path() / "a/folder");
    CHECK_THROWS_WITH(indexes.lookup(wanted), Catch::Contains("no package file inside"));

    indexes.add(write(
        "a", "a",
        "[[plugin.version]]\nversion = \"1.0.0\"\ncommit = \"" + std::string(40, 'b') + "\"\n"));
    CHECK_THROWS_WITH(indexes.lookup(wanted), Catch::Contains("no git URL"));

    // An update looks only in the index it came through, even when another lists the id first.
    dir.write("b/x.meshbot-plugin", "x");
    indexes.add(write("b", "b",
                      "[[plugin.version]]\nversion = \"2.0.0\"\npackage = \"x.meshbot-plugin\"\n"
                      "sha256 = \"" +
                          sha + "\"\n"));
    wanted.index = "b";
    const auto found = indexes.lookup(wanted);
    CHECK(found.index == "b");
    CHECK(found.expected_version == "2.0.0");
    wanted.index = "c";
    CHECK_THROWS_WITH(indexes.lookup(wanted), Catch::Contains("the index c no longer lists"));

    // Another source under a known name does not take that index over.
    CHECK_THROWS_WITH(indexes.add(write("elsewhere", "b",
                                        "[[plugin.version]]\nversion = \"1.0.0\"\ncommit = \"" +
                                            std::string(40, 'c') + "\"\n")),
                      Catch::Contains("an index named b is already added from"));
    CHECK(indexes.load().size() == 2);
}

TEST_CASE("what an interrupted plugin command left is cleared once the lock is held", "[share]") {
    TempDir dir;
    const auto work = dir.path() / "plugin-install";
    dir.write("plugin-install/work-abc123/stage/plugin.toml", "id = \"x\"\n");
    {
        InstallLock lock(work);
        CHECK(!std::filesystem::exists(work / "work-abc123"));
        CHECK_THROWS_WITH(InstallLock(work), Catch::Contains("another `meshbot plugin` command"));
    }
    CHECK_NOTHROW(InstallLock(work));
}
