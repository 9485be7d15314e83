-- belfry — Prosody (0.12) configuration for the relay component.
--
-- Put the global settings below into the global section of
-- /etc/prosody/prosody.cfg.lua (before its first VirtualHost line), and the
-- Component block at its end or into /etc/prosody/conf.d/belfry.cfg.lua;
-- then restart Prosody.  It matches examples/belfry.conf:
--
--   belfry.conf                Prosody
--   [component] jid        ->  Component "relay.example.org"
--   [component] host/port  ->  component_interfaces / component_ports
--   [component] secret     ->  component_secret

---------- Global section ----------
-- These two settings are global: after a VirtualHost or Component line they
-- would belong to that host and have no effect.
--
-- The port external components (XEP-0114) connect to.  5347 is the default;
-- belfry.conf's [component] port must match.
component_ports = { 5347 }

-- The addresses that port listens on.  Prosody's default is loopback only
-- ("127.0.0.1"), which is right when belfry runs on the same machine.  The
-- component stream is not encrypted (every stanza travels in clear; the
-- handshake is SHA-1 of stream id and secret): if belfry runs elsewhere, listen on a private address only and
-- firewall it, never on a public interface.
component_interfaces = { "127.0.0.1" }

---------- The component ----------
-- The domain belfry serves.  Users reach it as relay.example.org and its
-- module addresses as e.g. echo@relay.example.org.  It needs a DNS name only
-- if users on other servers should reach it (over s2s, through this server).
-- No module name after the domain: an external component, not a
-- Prosody plugin.
Component "relay.example.org"
	-- Shared secret; the same as belfry.conf's 'secret' (or the contents of
	-- its 'secret-file').  Use a long random string, e.g.
	--   openssl rand -hex 32
	component_secret = "relaysecret"

-- Check the result with:  prosodyctl check config
-- Once belfry is running, Prosody's log shows the component as connected
-- ("External component successfully authenticated"), and a second belfry
-- for the same domain is refused with <conflict/>.
