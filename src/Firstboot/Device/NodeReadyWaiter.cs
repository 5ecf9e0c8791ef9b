// Polls GET /api/v1/nodes/NAME over HTTPS until the node's Ready condition is True, recording why each try fell short.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;

namespace Appliance.Firstboot.Device;

/// <summary>One reason a try fell short, with how often and when it was seen (repeats of one reason are folded).</summary>
/// <param name="First">The first try that gave it.</param>
/// <param name="Last">The latest.</param>
/// <param name="Count">How many tries in a row gave it.</param>
/// <param name="Reason">One line: "connection refused (https://...)", "403 Forbidden: ...", "Ready=False (KubeletNotReady): ...".</param>
public sealed record ReadyFailure(DateTimeOffset First, DateTimeOffset Last, int Count, string Reason);

/// <summary>How the wait ended.</summary>
/// <param name="Ready">The node's Ready condition was True.</param>
/// <param name="NodeName">The node waited for.</param>
/// <param name="ApiServer">The API server asked (from the credentials), or null when none could be read.</param>
/// <param name="NodeAddress">The node's InternalIP as the API reports it, once the Node was read.</param>
/// <param name="Reason">"Ready", or the last failure's reason.</param>
/// <param name="Failures">Every distinct failure in order (consecutive repeats folded; the last 100).</param>
/// <param name="Waited">How long it took.</param>
public sealed record NodeReadyResult(bool Ready, string NodeName, string? ApiServer, string? NodeAddress, string Reason,
    IReadOnlyList<ReadyFailure> Failures, TimeSpan Waited);

/// <summary>
/// Waits for a node to be Ready. Each try reads the credentials afresh (the runtime writes them after it starts,
/// and may re-issue them), sends <c>GET /api/v1/nodes/NAME</c> trusting only the credentials' CA, and reads the
/// Ready condition with <see cref="JsonDocument"/>. Tries are spaced by <see cref="BackoffPolicy"/> (0.5 s doubling to
/// 5 s by default); every failure is logged once when its reason changes, and kept in the result.
/// </summary>
public sealed class NodeReadyWaiter
{
    private const int KeptFailures = 100;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private readonly string _nodeName;
    private readonly Func<ApiCredentials> _credentials;
    private readonly Action<string> _log;
    private readonly BackoffPolicy _backoff;
    private DateTimeOffset _since = DateTimeOffset.MinValue;

    /// <param name="nodeName">The Node to wait for (<c>node.hostname</c>).</param>
    /// <param name="credentials">
    /// Called before each try: <c>() =&gt; ApiCredentials.FromKubeconfig(DATA/runtime/kubeconfig.yaml)</c> on a server
    /// site, <c>() =&gt; ApiCredentials.FromAgentDirectory(DATA/runtime/agent, serverUrl)</c> on an agent site. A
    /// missing file counts as a failed try.
    /// </param>
    /// <param name="log">Receives a line when the reason changes, and when the node is Ready.</param>
    /// <param name="backoff">Spacing of tries (<see cref="BackoffPolicy.ResetAfter"/> is not used).</param>
    public NodeReadyWaiter(string nodeName, Func<ApiCredentials> credentials, Action<string> log, BackoffPolicy? backoff = null)
    {
        _nodeName = nodeName;
        _credentials = credentials;
        _log = log;
        _backoff = backoff ?? new BackoffPolicy(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5), TimeSpan.Zero);
    }

    /// <summary>
    /// Tries until the node is Ready or <paramref name="timeout"/> passes (<see cref="Timeout.InfiniteTimeSpan"/>:
    /// until <paramref name="ct"/>), and returns how it ended; a timeout is a result with <c>Ready = false</c>, not an exception.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task<NodeReadyResult> WaitAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        // A Ready=True written before this wait began (the last boot's, kept in the datastore until the node lifecycle
        // controller marks it Unknown) says nothing about this boot: only a heartbeat from now on counts. Two seconds
        // of slack for the second-resolution timestamps.
        _since = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(2);
        var failures = new List<ReadyFailure>();
        var delay = _backoff.Initial;
        while (true)
        {
            var attempt = await TryOnceAsync(ct);
            if (attempt.Ready)
            {
                _log($"node {_nodeName} is Ready ({attempt.Server}, InternalIP {attempt.Address ?? "unknown"}) after {clock.Elapsed.TotalSeconds:0.0} s");
                return new NodeReadyResult(true, _nodeName, attempt.Server, attempt.Address, "Ready", failures, clock.Elapsed);
            }
            var now = DateTimeOffset.UtcNow;
            if (failures.Count > 0 && failures[^1].Reason == attempt.Reason)
                failures[^1] = failures[^1] with { Last = now, Count = failures[^1].Count + 1 };
            else
            {
                _log($"node {_nodeName} not Ready yet: {attempt.Reason}");
                failures.Add(new ReadyFailure(now, now, 1, attempt.Reason));
                if (failures.Count > KeptFailures) failures.RemoveAt(0);
            }
            if (timeout != Timeout.InfiniteTimeSpan && clock.Elapsed + delay > timeout)
                return new NodeReadyResult(false, _nodeName, attempt.Server, attempt.Address,
                    $"not Ready after {clock.Elapsed.TotalSeconds:0} s: {attempt.Reason}", failures, clock.Elapsed);
            await Task.Delay(delay, ct);
            delay = _backoff.Next(delay);
        }
    }

    private sealed record Attempt(bool Ready, string Reason, string? Server, string? Address);

    private async Task<Attempt> TryOnceAsync(CancellationToken ct)
    {
        ApiCredentials creds;
        try
        {
            creds = _credentials();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or YamlDotNet.Core.YamlException)
        {
            return new Attempt(false, $"no credentials yet: {e.Message}", null, null);
        }
        var server = creds.Server.GetLeftPart(UriPartial.Authority);
        var url = new Uri(creds.Server, $"/api/v1/nodes/{Uri.EscapeDataString(_nodeName)}");
        try
        {
            using var http = creds.CreateClient();
            using var once = CancellationTokenSource.CreateLinkedTokenSource(ct);
            once.CancelAfter(RequestTimeout);
            using var response = await http.GetAsync(url, once.Token);
            var body = await response.Content.ReadAsStringAsync(once.Token);
            if (!response.IsSuccessStatusCode)
                return new Attempt(false, HttpFailure(response.StatusCode, body), server, null);
            return ReadNode(body, server);
        }
        catch (JsonException e)
        {
            return new Attempt(false, $"{server} answered with JSON that is not a Node: {e.Message}", server, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Attempt(false, $"no answer from {server} within {RequestTimeout.TotalSeconds:0} s", server, null);
        }
        catch (HttpRequestException e)
        {
            return new Attempt(false, ConnectionFailure(e, server), server, null);
        }
        catch (InvalidDataException e)
        {
            return new Attempt(false, e.Message, server, null);
        }
    }

    private string HttpFailure(HttpStatusCode code, string body)
    {
        string? message = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var m)) message = m.GetString();
        }
        catch (JsonException) { }
        return code switch
        {
            HttpStatusCode.NotFound => $"node {_nodeName} not found (not registered yet)",
            _ => $"{(int)code} {code}" + (message is { Length: > 0 } ? ": " + message : ""),
        };
    }

    private static string ConnectionFailure(HttpRequestException e, string server)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException s)
                return s.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => $"connection refused ({server})",
                    SocketError.HostUnreachable or SocketError.NetworkUnreachable => $"no route to {server}",
                    _ => $"cannot connect to {server}: {s.Message}",
                };
            if (inner is AuthenticationException a)
                return $"TLS with {server} failed: {a.Message}";
        }
        return e.HttpRequestError == HttpRequestError.SecureConnectionError
            ? $"TLS with {server} failed: {e.Message}"
            : $"cannot reach {server}: {e.Message}";
    }

    private Attempt ReadNode(string body, string server)
    {
        using var doc = JsonDocument.Parse(body);
        string? address = null;
        var status = doc.RootElement.TryGetProperty("status", out var s) ? s : default;
        if (status.ValueKind == JsonValueKind.Object && status.TryGetProperty("addresses", out var addrs) && addrs.ValueKind == JsonValueKind.Array)
            foreach (var a in addrs.EnumerateArray())
                if (Str(a, "type") == "InternalIP") { address = Str(a, "address"); break; }
        if (status.ValueKind == JsonValueKind.Object && status.TryGetProperty("conditions", out var conds) && conds.ValueKind == JsonValueKind.Array)
            foreach (var c in conds.EnumerateArray())
                if (Str(c, "type") == "Ready")
                {
                    var value = Str(c, "status") ?? "Unknown";
                    if (value == "True")
                    {
                        if (DateTimeOffset.TryParse(Str(c, "lastHeartbeatTime"), out var beat) && beat < _since)
                            return new Attempt(false, $"Ready=True is from before this boot (last heartbeat {beat:u}): waiting for the node's own report", server, address);
                        return new Attempt(true, "Ready", server, address);
                    }
                    var reason = Str(c, "reason");
                    var message = Str(c, "message");
                    return new Attempt(false, $"Ready={value}" + (reason is { Length: > 0 } ? $" ({reason})" : "")
                        + (message is { Length: > 0 } ? ": " + message : ""), server, address);
                }
        return new Attempt(false, $"node {_nodeName} has no Ready condition yet", server, address);
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
