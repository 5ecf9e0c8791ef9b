// The agent's DNS server: answers the cluster zone itself and forwards other names to the site's upstream servers.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>
/// Serves DNS over UDP and TCP (RFC 1035 §4.2, RFC 7766) on one address. The zone is read per query from
/// <see cref="Zone"/>, which the owner replaces whenever the cluster changes. Names outside the zone go to the
/// upstream servers one after another within <see cref="ForwardTimeout"/> in all; with none (a site offline) or none
/// answering, the client gets SERVFAIL at once or at that deadline, never silence.
/// </summary>
public sealed class ClusterDnsServer : IAsyncDisposable
{
    /// <summary>How long forwarding may take before SERVFAIL (the client's own timeout is 5 s).</summary>
    public static readonly TimeSpan ForwardTimeout = TimeSpan.FromMilliseconds(1500);

    /// <summary>How long a TCP connection may sit idle (RFC 7766 §6.2.3 suggests seconds).</summary>
    static readonly TimeSpan TcpIdle = TimeSpan.FromSeconds(10);

    readonly Socket _udp;
    readonly TcpListener _tcp;
    readonly IReadOnlyList<IPEndPoint> _upstreams;
    readonly ILogger _logger;
    readonly CancellationTokenSource _stop = new();
    readonly SemaphoreSlim _forwards = new(MaxForwards, MaxForwards);

    /// <summary>Forwarded queries in flight at most; more get SERVFAIL at once.</summary>
    public const int MaxForwards = 1000;
    readonly Task _udpLoop, _tcpLoop;

    /// <summary>The zone answered from; replace it to publish a change.</summary>
    public ClusterZone Zone { get; set; }

    /// <summary>The address and port bound (the port is the one picked when 0 was asked).</summary>
    public IPEndPoint Endpoint { get; }

    ClusterDnsServer(Socket udp, TcpListener tcp, ClusterZone zone, IReadOnlyList<IPEndPoint> upstreams, ILogger logger)
    {
        _udp = udp;
        _tcp = tcp;
        Zone = zone;
        _upstreams = upstreams;
        _logger = logger;
        Endpoint = (IPEndPoint)udp.LocalEndPoint!;
        _udpLoop = Task.Run(() => UdpLoopAsync(_stop.Token));
        _tcpLoop = Task.Run(() => TcpLoopAsync(_stop.Token));
    }

    /// <summary>Binds UDP and TCP on <paramref name="endpoint"/> (port 0: a free port, the same for both) and serves.</summary>
    public static ClusterDnsServer Start(IPEndPoint endpoint, ClusterZone zone, IReadOnlyList<IPEndPoint> upstreams, ILogger logger)
    {
        var udp = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            udp.Bind(endpoint);
            var tcp = new TcpListener(endpoint.Address, ((IPEndPoint)udp.LocalEndPoint!).Port);
            tcp.Start();
            return new ClusterDnsServer(udp, tcp, zone, upstreams, logger);
        }
        catch
        {
            udp.Dispose();
            throw;
        }
    }

    /// <summary>The response to one message, or null for a message that is not a query (dropped, as servers do).</summary>
    public async Task<byte[]?> RespondAsync(ReadOnlyMemory<byte> message, bool overTcp, CancellationToken ct)
    {
        if (!DnsQuery.IsQuery(message.Span)) return null;
        DnsQuery query;
        try
        {
            query = DnsQuery.Read(message.Span);
        }
        catch (InvalidDataException e)
        {
            _logger.LogDebug("DNS: malformed query: {Error}", e.Message);
            return DnsResponse.Error(message.Span, DnsRcode.FormErr);
        }
        int limit = overTcp ? ushort.MaxValue : DnsResponse.UdpLimit(query);
        if (query.Header.Opcode != 0) return DnsResponse.Write(query, DnsAnswer.Empty(DnsRcode.NotImp), limit);
        if (query.Class != DnsQuery.ClassIn) return DnsResponse.Write(query, DnsAnswer.Empty(DnsRcode.Refused), limit);
        try
        {
            if (Zone.Answer(query.Name, query.Type) is { } answer) return DnsResponse.Write(query, answer, limit);
        }
        catch (ArgumentException e)
        {
            // A record the wire cannot carry (an ExternalName that is not a domain name): the client hears of it.
            _logger.LogWarning("DNS: cannot answer {Name} {Type}: {Error}", query.Name, query.Type, e.Message);
            return DnsResponse.Write(query, DnsAnswer.Empty(DnsRcode.ServFail), limit);
        }
        return await ForwardAsync(message, ct) ?? DnsResponse.Write(query, DnsAnswer.Empty(DnsRcode.ServFail), limit);
    }

    /// <summary>Asks each upstream in turn over UDP until one answers or the time is up; null when none did.</summary>
    async Task<byte[]?> ForwardAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        if (_upstreams.Count == 0) return null;
        // Bounded, as CoreDNS's forward plugin is: a dead upstream under a query storm must not use up the agent's files.
        if (!_forwards.Wait(0)) return null;
        try { return await ForwardOnceAsync(message, ct); }
        finally { _forwards.Release(); }
    }

    async Task<byte[]?> ForwardOnceAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(ForwardTimeout);
        var id = BinaryPrimitives.ReadUInt16BigEndian(message.Span);
        var buffer = new byte[ushort.MaxValue];
        foreach (var upstream in _upstreams)
        {
            using var each = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            each.CancelAfter(ForwardTimeout / _upstreams.Count);
            try
            {
                using var socket = new Socket(upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                await socket.ConnectAsync(upstream, each.Token);
                await socket.SendAsync(message, SocketFlags.None, each.Token);
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, each.Token);
                    if (n >= DnsHeader.Size && BinaryPrimitives.ReadUInt16BigEndian(buffer) == id) return buffer[..n];
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException && !ct.IsCancellationRequested)
            {
                _logger.LogDebug("DNS: upstream {Upstream} did not answer: {Error}", upstream, e.Message);
            }
        }
        return null;
    }

    async Task UdpLoopAsync(CancellationToken ct)
    {
        var buffer = new byte[ushort.MaxValue];
        while (!ct.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(Endpoint.Address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0), ct);
            }
            catch (OperationCanceledException) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize) { continue; }
            catch (ObjectDisposedException) { return; }
            var message = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            var client = received.RemoteEndPoint;
            // Each query on its own: one that is forwarded must not hold up the cluster's answers.
            _ = Task.Run(async () =>
            {
                try
                {
                    if (await RespondAsync(message, overTcp: false, ct) is { } response)
                        await _udp.SendToAsync(response, SocketFlags.None, client, ct);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
            }, CancellationToken.None);
        }
    }

    async Task TcpLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _tcp.AcceptTcpClientAsync(ct); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = Task.Run(() => ServeTcpAsync(client, ct), CancellationToken.None);
        }
    }

    /// <summary>Length-prefixed messages (RFC 1035 §4.2.2) until the client closes or idles.</summary>
    async Task ServeTcpAsync(TcpClient client, CancellationToken ct)
    {
        using var _ = client;
        var stream = client.GetStream();
        var length = new byte[2];
        try
        {
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                idle.CancelAfter(TcpIdle);
                await stream.ReadExactlyAsync(length, idle.Token);
                var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
                await stream.ReadExactlyAsync(message, idle.Token);
                if (await RespondAsync(message, overTcp: true, ct) is not { } response) return;
                var framed = new byte[2 + response.Length];
                BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)response.Length);
                response.CopyTo(framed, 2);
                await stream.WriteAsync(framed, ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or EndOfStreamException or ObjectDisposedException) { }
    }

    /// <summary>Stops serving and releases both sockets.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Stop();
        await Task.WhenAll(_udpLoop, _tcpLoop);
        _stop.Dispose();
    }
}
