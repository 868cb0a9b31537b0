// attack_memory_bomb: allocates and touches 1 MiB blocks until the allocation fails. The runner's
// address-space limit makes operator new fail and the runner's new_handler ends the runner
// (exit status 71, "ran out of memory"); the bot goes on. Bounded at 1 GiB so that a missing
// limit shows as "attack memory: reached" instead of exhausting the machine.
#include <cstring>
#include <memory>
#include <vector>

#include "../attack.hpp"

void attack::run(const Targets&) {
    constexpr std::size_t kBlock = 1 << 20;
    constexpr std::size_t kMostBlocks = 1024;
    say("attack memory: start");
    std::vector<std::unique_ptr<char[]>> blocks;
    blocks.reserve(kMostBlocks);
    while (blocks.size() < kMostBlocks) {
        blocks.push_back(std::make_unique<char[]>(kBlock));
        std::memset(blocks.back().get(), 1, kBlock);
    }
    reached("memory");
}
