#include "app/bot.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "config/duration_text.hpp"
#include "plugin_host/utf8_chunker.hpp"
#include "portnums.pb.h"

namespace meshbot::app {

namespace {

std::string age(std::uint32_t last_heard) {
    if (last_heard == 0) return "never";
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto secs = std::max<std::int64_t>(0, now - last_heard);
    if (secs < 120) return std::to_string(secs) + "s ago";
    if (secs < 7200) return std::to_string(secs / 60) + "m ago";
    if (secs < 172800) return std::to_string(secs / 3600) + "h ago";
    return std::to_string(secs / 86400) + "d ago";
}

void log_node_list(const radio::RadioInfo& radio, const nodes::NodeStore& store) {
    spdlog::info("nodes: {} ({} '{}') and {} others on the radio, {} in the store",
                 radio::node_id(radio.my_node_num), radio.own_user.short_name(),
                 radio.own_user.long_name(), radio.nodes.size(), store.size() - 1);
    if (radio.nodes.size() > 50) return;  // a big NodeDB is for `meshbot nodes`, not the log
    for (const auto& [num, node] : radio.nodes) {
        const std::string hops = node.has_hops_away() ? std::to_string(node.hops_away()) : "?";
        spdlog::info("  {}  {:<4}  {:<24}  snr {:>5.1f}  hops {}  heard {}{}", radio::node_id(num),
                     node.user().short_name(), node.user().long_name(), node.snr(), hops,
                     age(node.last_heard()), node.user().public_key().size() == 32 ? "  key" : "");
    }
}

constexpr auto kSaveDebounce = std::chrono::seconds(10);
// How often a store the disk refuses is tried again when nothing else changes.
constexpr auto kStoreRetry = std::chrono::seconds(30);

std::string epoch_text(std::uint64_t epoch) {
    const auto t = static_cast<std::time_t>(epoch);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}
// A repeated warning is logged once in full, then summed up once per this period.
constexpr auto kWarningPeriod = std::chrono::seconds(10);
// Skipped backlog commands are counted for this long before the one line that reports them.
constexpr auto kBacklogReportDelay = std::chrono::seconds(2);
// Key events the status page lists.
constexpr std::size_t kKeyEvents = 50;

std::uint64_t now_epoch() {
    return static_cast<std::uint64_t>(std::time(nullptr));
}

}  // namespace

Bot::Bot(boost::asio::any_io_executor executor, const config::AppConfig& config)
    : config_(config),
      started_at_(now_epoch()),
      store_(config.bot.data_dir),
      undelivered_(executor, kWarningPeriod,
                   [this](std::uint64_t more, radio::Clock::duration period) {
                       spdlog::warn("{} more texts not delivered in the last {} (the last: {})",
                                    more, config::duration_text(period),
                                    radio::to_string(last_undelivered_));
                   }),
      link_(executor, config.radio,
            radio::RadioLink::Handlers{
                [this](const radio::RadioInfo& r) { on_ready(r); },
                [this](const std::string& why) { on_down(why); },
                [this](const pb::MeshPacket& p, bool replayed) { on_packet(p, replayed); },
                [this](const radio::RadioInfo& r) { on_refreshed(r); }}),
      key_sync_(
          executor, config, store_,
          [this](pb::MeshPacket p, radio::SendCallback done) {
              return link_.send(std::move(p), std::move(done));
          },
          [this] { return link_.reserve_id(); }),
      router_(
          config.commands,
          [this](std::uint32_t to, std::uint32_t channel, std::string_view text) {
              send_text(to, channel, text);
          },
          [this](std::uint32_t sender, std::string_view key) {
              return store_.trusts(sender, key);
          }),
      plugins_(executor, config, *this, router_),
      proxy_(executor, config.proxy,
             std::chrono::duration_cast<radio::Clock::duration>(config.radio.outbox_expiry),
             std::max<std::size_t>(1, config.radio.outbox_capacity / 2), link_, store_,
             [this](pb::MeshPacket p, radio::SendCallback done) {
                 return key_sync_.send(std::move(p), std::move(done));
             }),
      save_timer_(executor),
      retry_timer_(executor),
      backlog_timer_(executor) {
    store_.set_listeners([this](const nodes::NodeRecord& node) { plugins_.on_node_updated(node); },
                         [this](const nodes::NodeRecord& node, const nodes::KeyEvent& event) {
                             remember_key_event(node, event);
                             if (event.kind == nodes::KeyEvent::Kind::changed)
                                 plugins_.on_key_changed(node);
                         });
    link_changed_at_ = started_at_;
}

void Bot::remember_key_event(const nodes::NodeRecord& node, const nodes::KeyEvent& event) {
    using K = nodes::KeyEvent::Kind;
    const char* what = event.kind == K::pinned     ? "pinned"
                       : event.kind == K::changed  ? "changed"
                       : event.kind == K::accepted ? "accepted"
                                                   : "restored";
    const auto now = now_epoch();
    if (event.kind == K::pinned && !key_events_.empty() && key_events_.back().at == now &&
        key_events_.back().what == std::string_view("pinned")) {
        ++key_events_.back().count;
        return;
    }
    key_events_.push_back({now, node.num, node.short_name, what});
    if (key_events_.size() > kKeyEvents) key_events_.pop_front();
}

void Bot::open_store() {
    if (!lock_.try_lock(config_.bot.data_dir)) {
        throw nodes::StoreError("another meshbot is using the data directory " +
                                config_.bot.data_dir.string() + " (it holds meshbot.lock)");
    }
    const auto report = store_.load();
    for (const auto& error : report.errors)
        spdlog::error("{}", error);
    for (const auto& warning : report.warnings)
        spdlog::warn("{}", warning);
    spdlog::info("node store: {} nodes, {} pinned keys ({} journaled key changes) from {}",
                 report.nodes, report.keys, report.journal_records, config_.bot.data_dir.string());
    // After damage, what could be read goes into a good snapshot now, not in 10 s.
    if (!report.errors.empty()) store_.save();
    if (store_.dirty()) schedule_save();
    schedule_store_retry();
}

void Bot::schedule_store_retry() {
    retry_timer_.expires_after(kStoreRetry);
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        if (!store_.health().healthy()) store_.retry();
        schedule_store_retry();
    });
}

void Bot::schedule_save() {
    if (save_pending_ || !store_.dirty()) return;
    save_pending_ = true;
    save_timer_.expires_after(kSaveDebounce);
    save_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        save_pending_ = false;
        store_.save();
    });
}

nodes::KeyAcceptance Bot::accept_key(std::string_view query) {
    auto outcome = store_.accept_key(query);
    if (outcome.accepted) key_sync_.on_key_accepted(outcome.num);
    return outcome;
}

bool Bot::radio_holds_key(std::uint32_t num) const {
    const nodes::NodeRecord* node = store_.find(num);
    return node != nullptr && node->pinned_key && key_sync_.view().holds(num, *node->pinned_key);
}

Bot::~Bot() = default;

void Bot::start() {
    link_.start();
    if (config_.proxy.enabled) proxy_.start();
}

void Bot::stop(std::function<void()> done) {
    proxy_.stop();  // its clients' packets still in the outbox go out with the bot's
    // Plugins first (their last words still go out), then the store, then the radio.
    plugins_.stop(plugins::kRunnerStopGrace, [this, done = std::move(done)]() mutable {
        save_timer_.cancel();
        retry_timer_.cancel();
        backlog_timer_.cancel();
        router_.report_skipped_backlog();
        if (lock_.held()) store_.save();
        link_.stop(std::move(done));
    });
}

void Bot::on_ready(const radio::RadioInfo& radio) {
    link_changed_at_ = now_epoch();
    store_.on_handshake(radio);
    key_sync_.on_ready(radio);
    log_node_list(radio, store_);
    schedule_save();
    plugins_.on_link_up();
}

void Bot::on_refreshed(const radio::RadioInfo& radio) {
    // A client of the virtual node changed the radio (allow_admin): learn what it holds now.
    store_.on_handshake(radio);
    key_sync_.on_ready(radio);
    schedule_save();
}

void Bot::on_down(const std::string& reason) {
    link_changed_at_ = now_epoch();
    key_sync_.on_down();
    plugins_.on_link_down(reason);
}

void Bot::on_packet(const pb::MeshPacket& packet, bool replayed) {
    store_.on_packet(packet);
    key_sync_.on_packet(packet);
    schedule_save();
    if (packet.has_decoded() && packet.decoded().portnum() == pb::TEXT_MESSAGE_APP) {
        const std::uint64_t event = plugins_.remember_event(packet);
        const auto outcome = router_.on_text(packet, replayed, store_.self_num(), event,
                                             std::chrono::steady_clock::now());
        if (outcome == plugins::CommandRouter::Outcome::skipped_backlog) report_backlog_soon();
        if (outcome == plugins::CommandRouter::Outcome::not_a_command) {
            plugins_.on_text(packet, replayed, event);
        }
    }
    plugins_.on_packet(packet, replayed);
}

void Bot::report_backlog_soon() {
    // The radio hands over its backlog in one burst after the handshake: one line for it all.
    if (backlog_report_pending_) return;
    backlog_report_pending_ = true;
    backlog_timer_.expires_after(kBacklogReportDelay);
    backlog_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        backlog_report_pending_ = false;
        router_.report_skipped_backlog();
    });
}

plugins::HostStatus Bot::status() const {
    const auto& stats = link_.stats();
    // Steady-clock instants as epoch seconds, 0 for "never".
    const auto epoch = [now = std::chrono::steady_clock::now(),
                        epoch_now = std::time(nullptr)](radio::Clock::time_point t) {
        if (t == radio::Clock::time_point{}) return std::uint64_t{0};
        const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
        return static_cast<std::uint64_t>(std::max<std::int64_t>(0, epoch_now - ago));
    };
    plugins::HostStatus s;
    s.link_up = link_ready();
    s.started_at = started_at_;
    s.connected_since = s.link_up ? epoch(stats.ready_since) : 0;
    s.last_rx = epoch(stats.last_rx);
    s.sessions = static_cast<std::uint32_t>(stats.handshakes);
    s.radio_queue_free = stats.radio_queue_free;
    s.radio_queue_max = stats.radio_queue_max;
    s.outbox_pending = static_cast<std::uint32_t>(link_.outbox_pending());
    s.frames_in = stats.frames_in;
    s.frames_out = stats.frames_out;
    const auto& keys = key_sync_.counters();
    s.key_checks_run = keys.checks_run;
    s.key_checks_skipped = keys.checks_skipped;
    s.keys_pushed = keys.keys_pushed;
    s.key_pushes_failed = keys.pushes_failed;
    s.key_changes = store_.key_changes();
    s.nodes_known = static_cast<std::uint32_t>(store_.size());
    s.nodes_on_radio = static_cast<std::uint32_t>(link_.radio_nodes());
    return s;
}

std::pair<bool, std::string> Bot::status_text() const {
    std::string out =
        "meshbot " MESHBOT_VERSION ", data in " + config_.bot.data_dir.string() + "\n";
    out += link_ready() ? "link: up, radio " + radio::node_id(store_.self_num()) + "\n"
                        : "link: down\n";
    std::size_t keys = 0;
    store_.for_each([&keys](const nodes::NodeRecord& n) { keys += n.pinned_key ? 1 : 0; });
    out += fmt::format("nodes: {} known, {} keys pinned\n", store_.size(), keys);
    const auto& health = store_.health();
    if (health.keys_saved()) {
        out += "keys: saved\n";
    } else {
        out += fmt::format(
            "keys: NOT BEING SAVED since {}: {} ({} key change(s) refused, tried again with the "
            "next change and every {} s)\n",
            epoch_text(health.keys_failing_since), health.key_problem, health.keys_waiting,
            kStoreRetry.count());
    }
    if (proxy_.listening()) {
        const auto clients = proxy_.clients();
        out += fmt::format("virtual node: {}, {} client(s)\n", proxy_.endpoint(), clients.size());
        for (const auto& c : clients)
            out += fmt::format(
                "  client {} {} since {}{}: {} packets to the radio, {} refused, "
                "{} frames to it\n",
                c.number, c.address, epoch_text(c.since), c.configured ? "" : " (not configured)",
                c.counters.packets_to_radio, c.counters.packets_refused, c.counters.frames_out);
    }
    if (health.snapshot_problem.empty()) {
        out += "snapshot: saved\n";
    } else {
        out += fmt::format("snapshot: NOT SAVED since {}: {}\n",
                           epoch_text(health.snapshot_failing_since), health.snapshot_problem);
    }
    return {health.healthy(), out};
}

std::uint32_t Bot::send_packet(pb::MeshPacket packet, radio::SendCallback done) {
    return key_sync_.send(std::move(packet), std::move(done));
}

void Bot::send_text(std::uint32_t to, std::uint32_t channel, std::string_view text) {
    const bool dm = to != radio::kBroadcast;
    for (const auto& part : plugins::split_reply(text, config_.commands.reply_max_bytes)) {
        pb::MeshPacket packet;
        packet.set_to(to);
        packet.set_channel(channel);
        packet.set_want_ack(dm);  // DMs are acknowledged end to end; broadcasts are not
        packet.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
        packet.mutable_decoded()->set_payload(part);
        key_sync_.send(std::move(packet), [this, to](const radio::SendResult& r) {
            using S = radio::SendResult::Status;
            // The radio took the part (an unanswered DM too: it went on the air).
            if (r.status == S::sent || r.status == S::acked || r.status == S::timeout)
                ++text_parts_sent_;
            if (r.status != S::nak && r.status != S::expired && r.status != S::rejected_full)
                return;
            last_undelivered_ = r.status;
            if (!undelivered_.allow()) return;
            std::string error;
            if (r.routing_error != 0) {
                const std::string& name =
                    pb::Routing::Error_Name(static_cast<pb::Routing::Error>(r.routing_error));
                error =
                    ", routing error " + (name.empty() ? std::to_string(r.routing_error) : name);
            }
            spdlog::warn("text {:#010x} to {} not delivered: {}{}", r.id, radio::node_id(to),
                         radio::to_string(r.status), error);
        });
    }
}

}  // namespace meshbot::app
