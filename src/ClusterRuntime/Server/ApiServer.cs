// Hosts the API on Kestrel (HTTPS, HTTP/1.1 and HTTP/2) over a datastore backend, with the PKI from the data dir.
using Appliance.Common.Pki;
using System.Net;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Auth;
using Appliance.ClusterRuntime.Controllers;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Pki;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Server;

/// <summary>A running API server; <see cref="StartAsync"/> returns once /readyz answers ok.</summary>
public sealed class ApiServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly IBackend _backend;
    readonly CancellationTokenSource _stop;
    readonly Task _lifecycle;

    ApiServer(WebApplication app, IBackend backend, CancellationTokenSource stop, Task lifecycle, int port, ServerPki pki)
    {
        _app = app;
        _backend = backend;
        _stop = stop;
        _lifecycle = lifecycle;
        Port = port;
        Pki = pki;
    }

    /// <summary>The HTTPS port actually bound.</summary>
    public int Port { get; }

    /// <summary>Certificates and tokens.</summary>
    public ServerPki Pki { get; }

    /// <summary>The server's own storage (for the server's work on its embedded node).</summary>
    public ObjectStore Store { get; private init; } = null!;

    /// <summary>The server's loggers (for work that runs beside it, such as datastore snapshots).</summary>
    public ILoggerFactory LoggerFactory => _app.Services.GetRequiredService<ILoggerFactory>();

    /// <summary>Completes when shutdown was asked for (SIGTERM, Ctrl+C); then dispose the server to stop it.</summary>
    public Task WaitForShutdownAsync()
    {
        var done = new TaskCompletionSource();
        _app.Lifetime.ApplicationStopping.Register(() => done.TrySetResult());
        return done.Task;
    }

    /// <summary>Opens the datastore, loads or creates the PKI, writes the kubeconfig and token, and starts listening.</summary>
    public static async Task<ApiServer> StartAsync(ServerOptions options, IBackend backend, ILoggerFactory? loggerFactory = null, CancellationToken ct = default)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(options.DataDir);
        var now = DateTimeOffset.UtcNow;
        var pki = ServerPki.LoadOrCreate(options.DataDir, options.TlsSans, options.BindAddress, now);

        var builder = KestrelHost.CreateBuilder("appliance-runtime", LogLevel.Warning);
        builder.Logging.AddFilter("Appliance", LogLevel.Information);
        var serving = pki.Serving.ToCertificate();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = HttpIo.MaxBody;
            k.Limits.Http2.MaxStreamsPerConnection = 250;
            // Idle connections close after the timeout, and their number is capped: past the cap Kestrel closes a
            // new connection at once. Watches are requests in progress, so the idle timeout does not end them.
            k.Limits.KeepAliveTimeout = options.IdleConnectionTimeout;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(Math.Min(30, options.IdleConnectionTimeout.TotalSeconds));
            k.Limits.MaxConcurrentConnections = options.MaxConnections > 0 ? options.MaxConnections : null;
            k.Limits.MaxConcurrentUpgradedConnections = options.MaxConnections > 0 ? options.MaxConnections : null;
            void Configure(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = serving,
                    ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                    // Client certificates are verified against the client CA by the Authenticator, per request.
                    ClientCertificateValidation = (_, _, _) => true,
                    CheckCertificateRevocation = false,
                    SslProtocols = TlsPolicy.Protocols,
                    HandshakeTimeout = TimeSpan.FromSeconds(10),
                    OnAuthenticate = (_, ssl) => TlsPolicy.Apply(ssl),
                });
            }
            var bind = IPAddress.Parse(options.BindAddress);
            if (bind.Equals(IPAddress.Any) || bind.Equals(IPAddress.IPv6Any)) k.ListenAnyIP(options.HttpsPort, Configure);
            else k.Listen(bind, options.HttpsPort, Configure);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Appliance.ClusterRuntime.Server");
        foreach (var (path, mode) in pki.Tightened)
            logger.LogWarning("{Path} had mode {Mode}, readable or writable by others; set to 0600. Check who could read it and rotate the secret if needed",
                path, Convert.ToString((int)mode, 8).PadLeft(4, '0'));

        await backend.StartAsync(ct);
        var store = new ObjectStore(backend, TimeProvider.System)
        {
            EventTtl = options.EventTtl,
            DefaultTolerationSeconds = options.Controllers.DefaultTolerationSeconds,
            Services = new Api.Storage.Services.ServiceAllocator(backend, options.Controllers),
            PodAdmission = async (s, pod, ct) =>
            {
                await Api.ServiceAccounts.ServiceAccountAdmission.AdmitAsync(s, pod, ct);
                await Api.Quota.LimitRangeAdmission.AdmitAsync(s, pod, ct);
            },
            CreateAdmission = Api.Quota.ResourceQuotaAdmission.AdmitAsync,
        };
        var tokens = new Dictionary<string, UserInfo>
        {
            [pki.AdminToken] = new UserInfo("system:admin", ["system:masters"]),
            [pki.Token.Secret] = new UserInfo(Authorizer.JoinUser, [Authorizer.Bootstrappers]),
        };
        var serviceAccountTokens = new ServiceAccountTokens(JwtSigner.FromPem(pki.ServiceAccountKeyPem), store, options.Controllers.Clock);
        var auth = new Authenticator(pki.ClientCa.CertificatePem, tokens) { ServiceAccountTokens = serviceAccountTokens };
        var version = "v1.32.0-appliance+" + (typeof(ApiServer).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.1.0").Replace('+', '.');
        var limit = new InFlightLimit(options.MaxRequestsInflight, options.MaxMutatingRequestsInflight);
        var trimmer = new MemoryTrimmer();
        limit.Drained += trimmer.Schedule;
        var stop = new CancellationTokenSource();
        // The authorizer's caches follow the datastore from before the first request; requests wait for their first lists.
        var authorizer = new Authorizer(new Auth.Rbac.RbacAuthorizer(backend, logger), new Auth.Node.NodeAuthorizer(backend, logger));
        var authorizing = Task.Run(() => authorizer.RunAsync(stop.Token), CancellationToken.None);
        var handler = new ApiHandler(store, auth, new ServerInfo(pki.ServerCa.CertificatePem, version), logger)
        {
            Authorizer = authorizer,
            Stopping = app.Lifetime.ApplicationStopping,
            Limit = limit,
            WatchBufferBytes = options.WatchBufferBytes,
            DatastoreHealth = backend.Health,
            Join = new Api.Join.NodeJoinEndpoint(new Api.Join.NodePasswordStore(store), pki.ClientCa, pki.ServerCa, TimeProvider.System),
            PodLogs = new Api.PodLogs.PodLogProxy(store, pki.KubeletClient, pki.ServerCa.CertificatePem),
            PodExec = new Api.PodExec.PodExecProxy(store, pki.KubeletClient, pki.ServerCa.CertificatePem),
            TokenRequest = new Api.ServiceAccounts.TokenRequestEndpoint(store, serviceAccountTokens),
        };
        app.Run(handler.HandleAsync);
        await app.StartAsync(ct);

        var port = options.HttpsPort;
        if (port == 0)
        {
            var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            port = new Uri(addresses.First()).Port;
        }
        Kubeconfig.Write(Path.Combine(options.DataDir, "kubeconfig.yaml"), Kubeconfig.Render($"https://127.0.0.1:{port}", pki.ServerCa, pki.Admin));

        var lifecycle = new NamespaceLifecycle(store, logger);
        await lifecycle.BootstrapAsync(ct);
        await Auth.Rbac.BootstrapReconciler.ReconcileAsync(store, logger, ct);
        // Every server (not only the leader) keeps itself in the kubernetes Service's endpoints, from before it is ready.
        var kubernetesService = new Controllers.KubernetesService.KubernetesServiceReconciler(store,
            AdvertiseAddress.Resolve(options.AdvertiseAddress, options.BindAddress), port, options.Controllers, logger);
        try { await kubernetesService.ReconcileAsync(ct); }
        catch (Exception e) when (e is ApiException or Datastore.KeyExistsException)
        {
            logger.LogWarning("the kubernetes Service: {Error}", e.Message);
        }
        // Every server follows the CRDs itself, and serves those already stored before it reports ready.
        var customResources = new Api.CustomResources.CustomResourceController(store, logger);
        await customResources.StartAsync(stop.Token);
        var compactor = new Compactor(backend, options.CompactInterval, logger);
        // Servers sharing a PostgreSQL datastore elect one of them to run the controllers; SQLite has one server.
        // K3s applies DATA_DIR/server/manifests; our --data-dir is K3s's DATA_DIR/server, so this is DIR/manifests.
        var controllerOptions = options.Controllers with
        {
            ManifestsDir = options.Controllers.ManifestsDir ?? Path.Combine(options.DataDir, "manifests"),
            RootCaPem = pki.ServerCa.CertificatePem,
        };
        var controllers = new ControllerManager(store, controllerOptions, app.Services.GetRequiredService<ILoggerFactory>(), elect: backend is not Datastore.Sqlite.SqliteBackend);
        var loop = Task.WhenAll(
            Task.Run(() => lifecycle.RunAsync(stop.Token), CancellationToken.None),
            Task.Run(() => compactor.RunAsync(stop.Token), CancellationToken.None),
            Task.Run(() => kubernetesService.RunAsync(stop.Token), CancellationToken.None),
            Task.Run(() => controllers.RunAsync(stop.Token), CancellationToken.None),
            authorizing,
            Task.Run(() => customResources.RunAsync(stop.Token), CancellationToken.None));
        handler.Ready = true;
        logger.LogInformation("appliance-runtime server ready on https://{Bind}:{Port} in {Ms} ms (data dir {Dir})", options.BindAddress, port, started.ElapsedMilliseconds, options.DataDir);
        return new ApiServer(app, backend, stop, loop, port, pki) { Store = store };
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _app.StopAsync(); } catch (OperationCanceledException) { }
        try { await _lifecycle; } catch (OperationCanceledException) { }
        await _app.DisposeAsync();
        await _backend.DisposeAsync();
        _stop.Dispose();
    }
}
