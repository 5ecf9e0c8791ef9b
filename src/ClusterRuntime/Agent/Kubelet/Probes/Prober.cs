// Runs one probe or lifecycle handler once: exec through CRI ExecSync, httpGet (200-399), tcpSocket connect, sleep; each bounded by a time limit.
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Grpc.Core;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Probes;

/// <summary>One probe's outcome; <see cref="Message"/> says why it failed (upstream's wording where it has one).</summary>
internal readonly record struct ProbeOutcome(bool Success, string Message);

/// <summary>Runs probes against a container (exec) or its pod's IP (httpGet, tcpSocket).</summary>
internal sealed class Prober : IDisposable
{
    readonly CriConnection _cri;
    readonly ProbeNetwork _network;
    readonly HttpClient _http;

    public Prober(CriConnection cri, ProbeNetwork network)
    {
        (_cri, _network) = (cri, network);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectCallback = async (ctx, ct) => new NetworkStream(await _network.ConnectAsync(ctx.DnsEndPoint.Host, ctx.DnsEndPoint.Port, ct), ownsSocket: true),
        };
        // HTTPS probes do not verify the certificate (as upstream).
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Runs <paramref name="probe"/> once for container <paramref name="containerId"/> of a pod at <paramref name="podIp"/>.</summary>
    public Task<ProbeOutcome> RunAsync(ProbeSpec probe, JsonObject container, string containerId, string podIp, CancellationToken ct) =>
        RunActionAsync(probe.Action, container, containerId, podIp, probe.Timeout, ct);

    /// <summary>
    /// Runs one action (a probe's, or a lifecycle handler's: exec, httpGet, tcpSocket, sleep) within
    /// <paramref name="limit"/>. Lifecycle handlers take no tcpSocket (upstream keeps the field but fails the hook).
    /// </summary>
    public async Task<ProbeOutcome> RunActionAsync(JsonObject action, JsonObject container, string containerId, string podIp, TimeSpan limit, CancellationToken ct, bool hook = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limit);
        try
        {
            if (Obj.Object(action, "exec") is { } exec) return await ExecAsync(exec, containerId, limit, ct);
            if (Obj.Object(action, "httpGet") is { } get) return await HttpGetAsync(get, container, podIp, timeout.Token);
            if (Obj.Object(action, "sleep") is { } sleep)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, Obj.Long(sleep, "seconds") ?? 0)), timeout.Token);
                return new(true, "");
            }
            if (hook || Obj.Object(action, "tcpSocket") is not { } tcp) return new(false, "invalid handler: a lifecycle hook takes exec, httpGet or sleep");
            var host = Obj.Str(tcp, "host") is { Length: > 0 } h ? h : podIp;
            var port = ProbeSpec.Port(tcp["port"], container);
            using var socket = await _network.ConnectAsync(host, port, timeout.Token);
            return new(true, "");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new(false, $"timeout: no answer within {limit.TotalSeconds:0}s");
        }
        catch (Exception e) when (e is SocketException or HttpRequestException or IOException or InvalidOperationException)
        {
            return new(false, e.Message);
        }
    }

    async Task<ProbeOutcome> ExecAsync(JsonObject exec, string containerId, TimeSpan timeout, CancellationToken ct)
    {
        var request = new Cri.V1.ExecSyncRequest { ContainerId = containerId, Timeout = timeout > TimeSpan.Zero ? (long)Math.Ceiling(timeout.TotalSeconds) : 0 };
        request.Cmd.AddRange((exec["command"] as JsonArray ?? []).Select(c => c?.GetValue<string>() ?? ""));
        try
        {
            // containerd ends the command at the timeout; the call's own deadline only guards against a stuck runtime.
            // No limit (a postStart hook, as upstream) is no deadline either.
            DateTime? deadline = timeout > TimeSpan.Zero ? DateTime.UtcNow + timeout + TimeSpan.FromSeconds(5) : null;
            var reply = await _cri.Runtime.ExecSyncAsync(request, deadline: deadline, cancellationToken: ct);
            if (reply.ExitCode == 0) return new(true, "");
            var output = (reply.Stdout.ToStringUtf8() + reply.Stderr.ToStringUtf8()).Trim();
            return new(false, output.Length > 0 ? output : $"command exited with {reply.ExitCode}");
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            return new(false, e.StatusCode == StatusCode.DeadlineExceeded ? $"command timed out after {timeout.TotalSeconds:0}s" : e.Status.Detail);
        }
    }

    async Task<ProbeOutcome> HttpGetAsync(JsonObject get, JsonObject container, string podIp, CancellationToken ct)
    {
        var scheme = (Obj.Str(get, "scheme") ?? "HTTP").ToLowerInvariant();
        var host = Obj.Str(get, "host") is { Length: > 0 } h ? h : podIp;
        var path = Obj.Str(get, "path") is { Length: > 0 } p ? (p.StartsWith('/') ? p : "/" + p) : "/";
        var url = new UriBuilder(scheme, host, ProbeSpec.Port(get["port"], container)) { Path = "" }.Uri.GetLeftPart(UriPartial.Authority) + path;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.ConnectionClose = true;
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("kube-probe", "1.32"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("*/*"));
        foreach (var header in Obj.Items(get, "httpHeaders"))
        {
            var name = Obj.Str(header, "name") ?? "";
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase)) request.Headers.Host = Obj.Str(header, "value");
            else
            {
                request.Headers.Remove(name);
                request.Headers.TryAddWithoutValidation(name, Obj.Str(header, "value") ?? "");
            }
        }
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        var code = (int)response.StatusCode;
        if (code is >= 200 and < 400) return new(true, "");
        var body = await response.Content.ReadAsStringAsync(ct);
        return new(false, $"HTTP probe failed with statuscode: {code}" + (body.Length > 0 ? $" ({Shorten(body)})" : ""));
    }

    static string Shorten(string s) => (s.Length > 200 ? s[..200] : s).ReplaceLineEndings(" ").Trim();

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
