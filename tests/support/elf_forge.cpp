#include "support/elf_forge.hpp"

#include <elf.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace meshbot::testing {
namespace {

void write_at(const std::filesystem::path& so, std::size_t offset, const std::string& bytes) {
    std::fstream file(so, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!file) throw std::runtime_error("cannot write " + so.string());
}

}  // namespace

void forge_ident(const std::filesystem::path& so, std::size_t index, unsigned char value) {
    write_at(so, index, std::string(1, static_cast<char>(value)));
}

void forge_machine(const std::filesystem::path& so, std::uint16_t machine) {
    write_at(so, offsetof(Elf64_Ehdr, e_machine),
             {static_cast<char>(machine & 0xff), static_cast<char>(machine >> 8)});
}

std::string forge_needed_version(const std::filesystem::path& so, const std::string& prefix) {
    std::ifstream in(so, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::string needle = std::string(1, '\0') + prefix;
    for (auto at = bytes.find(needle); at != std::string::npos; at = bytes.find(needle, at + 1)) {
        const std::size_t begin = at + 1;
        const std::size_t end = bytes.find('\0', begin);
        if (end == std::string::npos || end == begin + prefix.size()) continue;
        const std::string name = bytes.substr(begin, end - begin);
        if (name.find_first_not_of("0123456789.", prefix.size()) != std::string::npos) continue;
        std::string forged = name;
        const auto dot = prefix.find_last_of('.');
        if (dot == std::string::npos || dot == 0) return {};
        forged[dot - 1] = '9';
        write_at(so, begin, forged);
        return forged;
    }
    return {};
}

}  // namespace meshbot::testing
