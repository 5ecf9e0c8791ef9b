// Time from the profile's NTP servers: an SNTP client (RFC 4330 over RFC 5905 packets) that steps the clock in the background.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Appliance.Firstboot.Device;

/// <summary>One server's answer.</summary>
/// <param name="Server">The server as written in the profile.</param>
/// <param name="Address">The address that answered.</param>
/// <param name="Offset">Server time minus local time.</param>
/// <param name="RoundTrip">The network delay of the exchange.</param>
/// <param name="Stratum">The server's stratum (1..15).</param>
public sealed record TimeSample(string Server, IPEndPoint Address, TimeSpan Offset, TimeSpan RoundTrip, int Stratum);

/// <summary>How <see cref="TimeSync"/> behaves; the defaults suit a device.</summary>
public sealed record TimeSyncOptions
{
    /// <summary>Pause between synchronisations once one succeeded (default 15 min).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Pauses while no server answers: this, doubling up to <see cref="Interval"/> (default 10 s).</summary>
    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one server may take to answer (default 3 s).</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Offsets at most this large are left alone (default 0.5 s): the clock is stepped, never slewed.</summary>
    public TimeSpan StepThreshold { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The local clock (tests shift it to see a step without changing the host's clock).</summary>
    public Func<DateTimeOffset> Now { get; init; } = () => DateTimeOffset.UtcNow;

    /// <summary>Sets the clock: clock_settime(CLOCK_REALTIME) by default.</summary>
    public Action<DateTimeOffset> SetClock { get; init; } = Libc.SetClock;
}

/// <summary>
/// Keeps the clock near the profile's NTP servers without holding up firstboot: <see cref="Start"/> returns at once
/// and a background loop asks the servers in order (the first good answer wins), steps the clock when the offset is
/// larger than <see cref="TimeSyncOptions.StepThreshold"/>, and repeats every <see cref="TimeSyncOptions.Interval"/>.
/// An answer is taken only when it is a server-mode NTP reply to this very request (originate timestamp echoed),
/// from a synchronised server (leap indicator not 3, stratum 1..15). Unreachable servers are normal on an isolated
/// site: they are logged when the reason changes and kept in <see cref="LastProblem"/>.
/// Debian's busybox has no ntpd applet, which is why this is not <c>busybox ntpd</c>.
/// </summary>
public sealed class TimeSync : IAsyncDisposable
{
    private static readonly DateTime NtpEra0 = new(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly IReadOnlyList<string> _servers;
    private readonly Action<string> _log;
    private readonly TimeSyncOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private string? _lastLogged;

    /// <param name="servers"><c>network.ntp</c>: host names or addresses, each with an optional <c>:PORT</c> (default 123).</param>
    /// <param name="log">One line per step and per change of problem.</param>
    /// <param name="options">Timing and clock seams.</param>
    public TimeSync(IReadOnlyList<string> servers, Action<string> log, TimeSyncOptions? options = null)
    {
        _servers = servers;
        _log = log;
        _options = options ?? new TimeSyncOptions();
    }

    /// <summary>The last good answer, or null.</summary>
    public TimeSample? LastSample { get; private set; }

    /// <summary>Why the last synchronisation failed, or null after a success.</summary>
    public string? LastProblem { get; private set; }

    /// <summary>How many times the clock was stepped.</summary>
    public int Steps { get; private set; }

    /// <summary>Starts the background loop (nothing happens without servers) and returns at once.</summary>
    public void Start()
    {
        if (_servers.Count == 0) return;
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        var retry = _options.FirstRetry;
        while (!_stop.IsCancellationRequested)
        {
            TimeSample? sample = null;
            try { sample = await SyncOnceAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            var pause = sample is null ? retry : _options.Interval;
            retry = sample is null ? TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, _options.Interval.Ticks)) : _options.FirstRetry;
            try { await Task.Delay(pause, _stop.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Asks the servers in order until one answers, steps the clock if needed, and returns the answer (null: none answered).</summary>
    public async Task<TimeSample?> SyncOnceAsync(CancellationToken ct = default)
    {
        var problems = new List<string>();
        foreach (var server in _servers)
        {
            try
            {
                var sample = await QueryAsync(server, ct);
                LastSample = sample;
                LastProblem = null;
                if (sample.Offset.Duration() > _options.StepThreshold)
                {
                    var target = _options.Now() + sample.Offset;
                    _options.SetClock(target);
                    Steps++;
                    Say($"time: stepped the clock by {sample.Offset.TotalSeconds:+0.000;-0.000} s to {target:O} ({server}, stratum {sample.Stratum})");
                }
                else Say($"time: in step with {server} (offset {sample.Offset.TotalMilliseconds:0} ms)");
                return sample;
            }
            catch (Exception e) when (e is SocketException or TimeoutException or InvalidDataException or IOException)
            {
                problems.Add($"{server}: {e.Message}");
            }
        }
        LastProblem = "no time server answered: " + string.Join("; ", problems);
        Say("time: " + LastProblem);
        return null;
    }

    private void Say(string line)
    {
        if (line == _lastLogged) return;
        _lastLogged = line;
        _log(line);
    }

    /// <summary>One SNTP exchange with <paramref name="server"/> (no clock change).</summary>
    /// <exception cref="SocketException">Name not found, or no route.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="InvalidDataException">An answer that is not a usable NTP reply.</exception>
    public async Task<TimeSample> QueryAsync(string server, CancellationToken ct = default)
    {
        var (host, port) = SplitPort(server);
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
        var endpoint = new IPEndPoint(addresses[0], port);
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(endpoint, ct);
        var request = new byte[48];
        request[0] = 0x23; // LI 0, version 4, mode 3 (client)
        var clock = Stopwatch.StartNew();
        var t1 = _options.Now();
        // RFC 4330 §5: the client may put any value in the transmit timestamp; the server echoes it as originate.
        var cookie = ToNtp(t1);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(40), cookie);
        await socket.SendAsync(request, ct);
        var reply = new byte[512];
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(_options.QueryTimeout);
        int n;
        try { n = await socket.ReceiveAsync(reply, limit.Token); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer from {endpoint} within {_options.QueryTimeout.TotalSeconds:0.#} s");
        }
        var t4 = t1 + clock.Elapsed;
        return Read(server, endpoint, reply.AsSpan(0, n), cookie, t1, t4);
    }

    // RFC 5905 §7.3: the packet header; offset θ = ((T2 − T1) + (T3 − T4)) / 2, delay δ = (T4 − T1) − (T3 − T2).
    private static TimeSample Read(string server, IPEndPoint from, ReadOnlySpan<byte> p, ulong cookie, DateTimeOffset t1, DateTimeOffset t4)
    {
        if (p.Length < 48) throw new InvalidDataException($"{from} sent {p.Length} bytes, not an NTP packet (48)");
        int leap = p[0] >> 6, mode = p[0] & 7, stratum = p[1];
        if (mode != 4) throw new InvalidDataException($"{from} answered in mode {mode}, not as a server (4)");
        if (BinaryPrimitives.ReadUInt64BigEndian(p[24..]) != cookie) throw new InvalidDataException($"{from} answered another request");
        if (stratum == 0) throw new InvalidDataException($"{from} sent a kiss-o'-death ({System.Text.Encoding.ASCII.GetString(p[12..16])})");
        if (leap == 3 || stratum > 15) throw new InvalidDataException($"{from} is not synchronised itself (leap {leap}, stratum {stratum})");
        var t2 = FromNtp(BinaryPrimitives.ReadUInt64BigEndian(p[32..]));
        var t3 = FromNtp(BinaryPrimitives.ReadUInt64BigEndian(p[40..]));
        var offset = ((t2 - t1) + (t3 - t4)) / 2;
        var delay = (t4 - t1) - (t3 - t2);
        return new TimeSample(server, from, offset, delay < TimeSpan.Zero ? TimeSpan.Zero : delay, stratum);
    }

    private static ulong ToNtp(DateTimeOffset t)
    {
        var since = t.UtcDateTime - NtpEra0;
        ulong seconds = (ulong)(since.Ticks / TimeSpan.TicksPerSecond);
        ulong fraction = (ulong)(since.Ticks % TimeSpan.TicksPerSecond) * (1UL << 32) / TimeSpan.TicksPerSecond;
        return (seconds & 0xFFFFFFFF) << 32 | fraction;
    }

    // Era 1 begins in 2036: seconds below 2^31 are read as after that, the usual SNTP rule (RFC 4330 §3).
    private static DateTimeOffset FromNtp(ulong value)
    {
        ulong seconds = value >> 32, fraction = value & 0xFFFFFFFF;
        if (seconds < 0x80000000UL) seconds += 1UL << 32;
        long ticks = (long)seconds * TimeSpan.TicksPerSecond + (long)(fraction * TimeSpan.TicksPerSecond >> 32);
        return new DateTimeOffset(NtpEra0.Ticks + ticks, TimeSpan.Zero);
    }

    private static (string Host, int Port) SplitPort(string server)
    {
        if (server.StartsWith('[') && server.IndexOf("]:", StringComparison.Ordinal) is var b and > 0)
            return (server[1..b], int.Parse(server[(b + 2)..], CultureInfo.InvariantCulture));
        var colon = server.LastIndexOf(':');
        if (colon > 0 && server.IndexOf(':') == colon && int.TryParse(server[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            return (server[..colon], port);
        return (server.Trim('[', ']'), 123);
    }

    /// <summary>Stops the background loop.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
