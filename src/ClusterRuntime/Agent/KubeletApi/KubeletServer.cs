// The kubelet's HTTPS API (port 10250): mutual TLS, only the API server may call it; serves container logs, exec, attach and port-forward.
using Appliance.Common.Pki;
using System.Net;
using Appliance.ClusterRuntime.Agent.Kubelet.Logs;
using Appliance.ClusterRuntime.Auth;
using Appliance.ClusterRuntime.Pki;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>Where and how the kubelet API listens.</summary>
/// <param name="Address">Listen address.</param>
/// <param name="Port">Listen port (10250; 0 picks a free one).</param>
/// <param name="Serving">The kubelet serving certificate (signed by the server CA).</param>
/// <param name="ClientCaPem">The cluster's client CA: callers must present a certificate it signed.</param>
/// <param name="Logs">Where container logs are found.</param>
/// <param name="Exec">How exec, attach and port-forward reach containerd; null answers them with 501.</param>
public sealed record KubeletServerOptions(IPAddress Address, int Port, PemPair Serving, string ClientCaPem, PodLogLocator Logs, ExecOptions? Exec = null);

/// <summary>A running kubelet API server.</summary>
public sealed class KubeletServer : IAsyncDisposable
{
    /// <summary>The default port, upstream's.</summary>
    public const int DefaultPort = 10250;

    /// <summary>The user name of the API server's kubelet client certificate.</summary>
    public const string ApiServerUser = "system:apiserver";

    readonly WebApplication _app;
    readonly Authenticator _auth;
    readonly ContainerLogsEndpoint _logs;
    readonly ExecEndpoint? _exec;
    readonly PortForwardEndpoint? _portForward;
    volatile System.Security.Cryptography.X509Certificates.X509Certificate2 _serving;

    KubeletServer(WebApplication app, Authenticator auth, int port, ContainerLogsEndpoint logs, ExecEndpoint? exec, PortForwardEndpoint? portForward, System.Security.Cryptography.X509Certificates.X509Certificate2 serving)
    {
        _serving = serving;
        _app = app;
        _auth = auth;
        Port = port;
        _logs = logs;
        _exec = exec;
        _portForward = portForward;
    }

    /// <summary>The port actually bound.</summary>
    public int Port { get; }

    /// <summary>Serves <paramref name="serving"/> to every new connection from now on (a renewed certificate; no restart).</summary>
    public void UseServingCertificate(PemPair serving) => _serving = serving.ToCertificate();

    /// <summary>Starts listening.</summary>
    public static async Task<KubeletServer> StartAsync(KubeletServerOptions options, CancellationToken ct = default)
    {
        var builder = Server.KestrelHost.CreateBuilder("appliance-kubelet", LogLevel.Warning);
        var server = (KubeletServer?)null;
        var serving = options.Serving.ToCertificate();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(options.Address, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    // Read per connection: a renewed certificate is served without a restart.
                    ServerCertificateSelector = (_, _) => server?._serving ?? serving,
                    ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                    // The chain is checked against the client CA per request by the Authenticator (401 when it fails).
                    ClientCertificateValidation = (_, _, _) => true,
                    CheckCertificateRevocation = false,
                    SslProtocols = Server.TlsPolicy.Protocols,
                    HandshakeTimeout = TimeSpan.FromSeconds(10),
                    OnAuthenticate = (_, ssl) => Server.TlsPolicy.Apply(ssl),
                });
            });
        });
        var app = builder.Build();
        var auth = new Authenticator(options.ClientCaPem, new Dictionary<string, UserInfo>());
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Appliance.Kubelet");
        var logs = new ContainerLogsEndpoint(options.Logs, logger);
        var exec = options.Exec is null ? null : new ExecEndpoint(options.Exec, logger);
        app.Run(ctx => server!.HandleAsync(ctx));
        await app.StartAsync(ct);
        var port = options.Port;
        if (port == 0)
            port = new Uri(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        server = new KubeletServer(app, auth, port, logs, exec, exec is null ? null : new PortForwardEndpoint(exec.Cri, logger), serving);
        return server;
    }

    async Task HandleAsync(HttpContext ctx)
    {
        var user = _auth.Authenticate(ctx);
        if (user is null)
        {
            await Text(ctx, 401, "Unauthorized: a client certificate signed by the cluster's client CA is required");
            return;
        }
        if (user.Name != ApiServerUser && !user.Groups.Contains("system:masters"))
        {
            await Text(ctx, 403, $"Forbidden (user={user.Name}, verb={ctx.Request.Method.ToLowerInvariant()}, path={ctx.Request.Path})");
            return;
        }
        var path = ctx.Request.Path.Value ?? "/";
        if (path.StartsWith("/containerLogs/", StringComparison.Ordinal))
        {
            if (ctx.Request.Method != "GET") await Text(ctx, 405, "only GET is allowed");
            else await _logs.HandleAsync(ctx, path["/containerLogs/".Length..]);
            return;
        }
        foreach (var verb in new[] { "exec", "attach", "portForward" })
        {
            var prefix = $"/{verb}/";
            if (!path.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (_exec is null || _portForward is null) await Text(ctx, 501, $"{verb} is not enabled on this kubelet");
            else if (ctx.Request.Method is not ("GET" or "POST")) await Text(ctx, 405, "only GET and POST are allowed");
            else if (verb == "portForward") await _portForward.HandleAsync(ctx, path[prefix.Length..]);
            else await _exec.HandleAsync(ctx, path[prefix.Length..], verb);
            return;
        }
        await Text(ctx, 404, "404 page not found");
    }

    /// <summary>Writes a plain-text answer, as upstream's kubelet does for errors.</summary>
    internal static async Task Text(HttpContext ctx, int status, string message)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(message + "\n");
    }

    /// <summary>Stops listening; open log streams end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _auth.Dispose();
        _exec?.Dispose();
    }
}
