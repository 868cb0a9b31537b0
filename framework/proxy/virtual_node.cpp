#include "proxy/virtual_node.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "config/duration_text.hpp"
#include "radio/spawn_failure.hpp"

namespace meshbot::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string endpoint_text(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    const std::string ip =
        address.is_v6() && address.to_v6().is_v4_mapped()
            ? asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string()
            : address.to_string();
    return (address.is_v6() && !address.to_v6().is_v4_mapped() ? "[" + ip + "]" : ip) + ":" +
           std::to_string(endpoint.port());
}

constexpr auto kWarningPeriod = std::chrono::seconds(10);

// A WarningThrottle whose summary says "{more} more {what} in the last 10 s".
radio::WarningThrottle throttle(asio::any_io_executor executor, std::string what) {
    return radio::WarningThrottle(
        executor, kWarningPeriod,
        [what = std::move(what)](std::uint64_t more, Clock::duration period) {
            spdlog::warn("proxy: {} more {} in the last {}", more, what,
                         config::duration_text(period));
        });
}

}  // namespace

VirtualNode::VirtualNode(asio::any_io_executor executor, const config::ProxyConfig& config,
                         Clock::duration expiry, std::size_t outbox_share, radio::RadioLink& link,
                         const nodes::NodeStore& store, SendPacket send)
    : executor_(executor),
      config_(config),
      expiry_(expiry),
      outbox_share_(outbox_share),
      link_(link),
      store_(store),
      send_(std::move(send)),
      acceptor_(executor),
      sweep_timer_(executor),
      admin_warnings_(throttle(executor, "radio-changing admin messages refused")),
      xmodem_warnings_(throttle(executor, "xmodem file transfers cancelled")),
      turned_away_warnings_(throttle(executor, "clients refused")) {}

VirtualNode::~VirtualNode() {
    stop();
}

bool VirtualNode::start() {
    error_code ec;
    const auto address = asio::ip::make_address(config_.address, ec);
    const tcp::endpoint where(address, config_.port);
    if (!ec) acceptor_.open(where.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(where, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        spdlog::error("proxy: cannot listen on {}:{}: {}; the virtual node is off", config_.address,
                      config_.port, ec.message());
        acceptor_.close(ec);
        return false;
    }
    listening_ = true;
    if (!config_.loopback && config_.allow_from.empty())
        spdlog::warn(
            "proxy: listening on {} but [proxy] allow_from is empty: only clients on "
            "this machine are admitted",
            config_.address);
    link_.set_message_listener(
        [this](const pb::FromRadio& message, const radio::SessionEvent& event) {
            on_radio_message(message, event);
        });
    asio::co_spawn(executor_, accept_loop(), radio::log_failure("proxy: stopped accepting"));
    asio::co_spawn(executor_, idle_sweep(), radio::log_failure("proxy: idle sweep stopped"));
    std::string admitted = "loopback";
    for (const auto& range : config_.allow_from)
        admitted += ", " + range.text;
    spdlog::info(
        "proxy: virtual node listening on {} for API clients (admitted: {}; admin "
        "messages that change the radio: {})",
        endpoint(), admitted,
        config_.allow_all_admin ? "allowed"
        : config_.allow_admin.empty()
            ? "refused"
            : "only " + fmt::format("{}", fmt::join(config_.allow_admin, ", ")));
    return true;
}

void VirtualNode::stop() {
    if (stopped_) return;
    stopped_ = true;
    listening_ = false;
    if (acceptor_.is_open()) link_.set_message_listener({});
    error_code ec;
    acceptor_.close(ec);
    sweep_timer_.cancel();
    auto clients = std::exchange(clients_, {});
    if (!clients.empty())
        spdlog::info("proxy: disconnecting {} client(s): the bot is stopping", clients.size());
    for (auto& [number, client] : clients) {
        client->detach();
        client->close("the bot is stopping");
    }
}

std::uint16_t VirtualNode::port() const {
    error_code ec;
    const auto endpoint = acceptor_.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

std::string VirtualNode::endpoint() const {
    error_code ec;
    const auto bound = acceptor_.local_endpoint(ec);
    return ec ? config_.address + ":" + std::to_string(config_.port) : endpoint_text(bound);
}

bool VirtualNode::admitted(const asio::ip::address& peer) const {
    bool v4 = peer.is_v4();
    std::array<std::uint8_t, 16> bytes{};
    if (peer.is_v6() && peer.to_v6().is_v4_mapped()) {
        const auto mapped = asio::ip::make_address_v4(asio::ip::v4_mapped, peer.to_v6());
        const auto b = mapped.to_bytes();
        std::copy(b.begin(), b.end(), bytes.begin());
        v4 = true;
    } else if (v4) {
        const auto b = peer.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), bytes.begin());
    } else {
        const auto b = peer.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), bytes.begin());
    }
    if (v4 ? bytes[0] == 127 : peer.is_loopback()) return true;
    for (const auto& range : config_.allow_from)
        if (range.contains(v4, bytes.data())) return true;
    return false;
}

asio::awaitable<void> VirtualNode::accept_loop() {
    while (!stopped_) {
        error_code ec;
        tcp::socket socket =
            co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped_) co_return;
        if (ec) {
            spdlog::warn("proxy: accept failed: {}", ec.message());
            asio::steady_timer pause(executor_, std::chrono::milliseconds(200));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        const auto peer = socket.remote_endpoint(ec);
        if (ec) continue;
        const std::string address = endpoint_text(peer);
        if (!admitted(peer.address())) {
            ++counters_.turned_away;
            if (turned_away_warnings_.allow())
                spdlog::warn(
                    "proxy: refused a client from {}: not loopback nor in [proxy] allow_from",
                    address);
            socket.close(ec);
            continue;
        }
        if (clients_.size() >= config_.max_clients) {
            ++counters_.turned_away;
            if (turned_away_warnings_.allow())
                spdlog::warn(
                    "proxy: refused a client from {}: {} clients connected ([proxy] "
                    "max_clients)",
                    address, clients_.size());
            socket.close(ec);
            continue;
        }
        const std::uint64_t number = next_number_++;
        auto client = std::make_shared<ProxyClient>(
            std::move(socket), number, address, config_.client_buffer,
            [this](ProxyClient& c, const pb::ToRadio& m) { on_client_message(c, m); },
            [this](ProxyClient& c, const std::string& why) { on_closed(c, why); });
        clients_.emplace(number, client);
        ++counters_.connections;
        spdlog::info("proxy: client {} connected from {} ({} connected)", number, address,
                     clients_.size());
        client->start();
    }
}

asio::awaitable<void> VirtualNode::idle_sweep() {
    while (!stopped_) {
        sweep_timer_.expires_after(std::chrono::seconds(30));
        error_code ec;
        co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped_) co_return;
        const auto now = Clock::now();
        std::vector<std::shared_ptr<ProxyClient>> idle;
        for (const auto& [number, client] : clients_)
            if (now - client->last_heard() >= kClientIdleTimeout) idle.push_back(client);
        for (const auto& client : idle)
            client->close("silent for 15 minutes (the firmware's TCP idle limit)");
        // Packets waiting for a radio that stays away expire even when nothing else happens.
        for (const auto& [number, client] : std::map(clients_))
            if (!client->closed()) pump(*client);
    }
}

void VirtualNode::on_closed(ProxyClient& client, const std::string& why) {
    const auto it = clients_.find(client.number());
    if (it == clients_.end()) return;
    const auto keep = it->second;  // alive until this function returns
    clients_.erase(it);
    if (why.rfind("not reading", 0) == 0) ++counters_.slow_clients;
    const auto& c = client.counters;
    spdlog::info(
        "proxy: client {} ({}) disconnected: {} ({} packets to the radio, {} refused, "
        "{} frames to it; {} connected)",
        client.number(), client.address(), why, c.packets_to_radio, c.packets_refused, c.frames_out,
        clients_.size());
}

std::vector<ClientInfo> VirtualNode::clients() const {
    std::vector<ClientInfo> out;
    out.reserve(clients_.size());
    for (const auto& [number, client] : clients_)
        out.push_back({number, client->address(), client->since(), client->configured,
                       client->waiting.size(), client->unread_bytes(), client->counters});
    return out;
}

ProxyClient* VirtualNode::client(std::uint64_t number) const {
    const auto it = clients_.find(number);
    return it == clients_.end() || it->second->closed() ? nullptr : it->second.get();
}

}  // namespace meshbot::proxy
