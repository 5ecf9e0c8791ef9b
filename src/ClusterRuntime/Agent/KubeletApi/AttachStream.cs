// One attach through containerd's CRI stream server: an HTTP upgrade to SPDY/3.1 (remote command v4), its streams, made in containerd's network namespace.
using System.Net.Sockets;
using System.Text;
using Appliance.ClusterRuntime.Agent.Kubelet.Probes;
using Appliance.ClusterRuntime.Spdy;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>
/// Connects to the URL CRI <c>Attach</c> returned (<c>http://127.0.0.1:PORT/attach/TOKEN</c>, valid once) and speaks
/// SPDY to it rather than WebSocket: containerd 1.6 knows no v5, and only a SPDY stream can be half-closed, which is
/// how stdin ends (its WebSocket v4 cannot). The stream server listens on loopback in containerd's network namespace,
/// so the socket is made there when that is not ours. The streams are those of upstream's v4 remote command client:
/// error, then stdin, stdout, stderr and resize as asked.
/// </summary>
internal sealed class AttachStream : IAsyncDisposable
{
    const string Protocol = "v4.channel.k8s.io";
    readonly NetworkStream _transport;
    readonly SpdyConnection _session;

    AttachStream(NetworkStream transport, SpdyConnection session, Task run)
    {
        _transport = transport;
        _session = session;
        Run = run;
    }

    /// <summary>The session's read loop; ends when containerd closes the connection.</summary>
    public Task Run { get; }

    /// <summary>The error stream: containerd writes the v4 Status (JSON) there when the attach ends.</summary>
    public SpdyStream Error { get; private set; } = null!;

    /// <summary>The requested streams (null when not asked for).</summary>
    public SpdyStream? Stdin { get; private set; }

    /// <inheritdoc cref="Stdin"/>
    public SpdyStream? Stdout { get; private set; }

    /// <inheritdoc cref="Stdin"/>
    public SpdyStream? Stderr { get; private set; }

    /// <inheritdoc cref="Stdin"/>
    public SpdyStream? Resize { get; private set; }

    /// <summary>Upgrades the connection and opens the streams.</summary>
    public static async Task<AttachStream> ConnectAsync(Uri url, string? runtimeNetns, bool stdin, bool stdout, bool stderr, bool tty, CancellationToken ct)
    {
        if (url.Scheme != "http") throw new IOException($"containerd's stream server answered with {url}: only http is supported");
        var socket = await new ProbeNetwork(runtimeNetns).ConnectAsync(url.Host, url.Port, ct);
        var transport = new NetworkStream(socket, ownsSocket: true);
        try
        {
            var request = $"POST {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
                $"X-Stream-Protocol-Version: {Protocol}\r\nContent-Length: 0\r\n\r\n";
            await transport.WriteAsync(Encoding.ASCII.GetBytes(request), ct);
            var head = await ReadHeadAsync(transport, ct);
            var status = head.Split("\r\n")[0];
            if (!status.Contains(" 101 ", StringComparison.Ordinal))
                throw new IOException($"containerd's stream server refused the attach: {status.Trim()}");
            var session = new SpdyConnection(transport, null);
            var attach = new AttachStream(transport, session, session.RunAsync(CancellationToken.None));
            Task<SpdyStream> Open(string type) => session.OpenStreamAsync(new Dictionary<string, string> { ["streamType"] = type }, ct);
            attach.Error = await Open("error");
            if (stdin) attach.Stdin = await Open("stdin");
            if (stdout) attach.Stdout = await Open("stdout");
            if (stderr && !tty) attach.Stderr = await Open("stderr");
            if (tty) attach.Resize = await Open("resize");
            return attach;
        }
        catch
        {
            await transport.DisposeAsync();
            throw;
        }
    }

    /// <summary>The response head, read byte by byte so that no SPDY frame after it is taken.</summary>
    static async Task<string> ReadHeadAsync(NetworkStream transport, CancellationToken ct)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (head.Length > 16 * 1024) throw new IOException("containerd's stream server sent an over-long response head");
            if (await transport.ReadAsync(one, ct) == 0) throw new IOException("containerd's stream server closed the connection during the upgrade");
            head.Append((char)one[0]);
        }
        return head.ToString();
    }

    /// <summary>Closes the connection (containerd ends the attach; the container goes on).</summary>
    public async ValueTask DisposeAsync()
    {
        await _transport.DisposeAsync();
        try { await Run; } catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
        await _session.DisposeAsync();
    }
}
