// A node's agent, hosted by the agent verb and embedded in the server: join, containerd, kubelet API, node, pods.
using Appliance.Common.Pki;
using System.Runtime.InteropServices;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Join;
using Appliance.ClusterRuntime.Agent.Node;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Pki;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent;

/// <summary>
/// Runs this machine as a node until the token ends: joins by token, starts (or attaches to) containerd, imports the
/// preloaded images, serves the kubelet API, registers the Node, then heartbeats and runs the pod worker.
/// Throws <see cref="JoinException"/> for a refused join, <see cref="AgentStartException"/> when it cannot start, and
/// <see cref="ArgumentException"/> for a container runtime endpoint or data dir that cannot hold a socket.
/// Stopping stops containerd alone (SIGTERM); shims and containers keep running.
/// </summary>
public sealed class NodeAgent(AgentOptions options, ILogger logger)
{
    /// <summary>How often the learned servers are refreshed, in heartbeat ticks (10 s each).</summary>
    const int DiscoveryTicks = 3;

    /// <summary>How often certificates are checked for renewal, in heartbeat ticks (one hour).</summary>
    const int RenewalTicks = 360;

    /// <summary>Runs until <paramref name="stop"/> is cancelled; returns normally then.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        ContainerRuntime.CheckInstalled(options);
        NodeToken.TryParse(options.Token, out var token);
        var files = new NodeCredentials(options.DataDir);
        var servers = new ServerList(options.Server, files.LoadServers());
        servers.Switched += (from, to) => logger.LogWarning("API server {From} unreachable; now using {To}", from, to);
        var nodeIp = NodeIp.Choose(options.NodeIp, options.Server);
        var joiner = new NodeJoiner(files, servers, token, options.NodeName, nodeIp, logger, TimeProvider.System);
        try
        {
            await joiner.JoinAsync(stop);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException)
        {
            throw new AgentStartException($"join failed: {e.Message}", e);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return;
        }
        logger.LogInformation("node {Node} joined {Server} (node IP {Ip}, data dir {Dir})", options.NodeName, servers.Current, nodeIp, options.DataDir);

        using var api = new ApiClient(new HttpClient(new FailoverHandler(servers, ClusterHttp.Create(joiner.CaPem, () => joiner.ClientCertificate)))
        {
            BaseAddress = servers.Current,
            Timeout = Timeout.InfiniteTimeSpan,
        });
        // Stopping the agent stops containerd alone (SIGTERM to its pid); shims and containers keep running.
        await using var containerd = ContainerRuntime.Start(options, line => logger.LogInformation("containerd: {Line}", line));
        var images = ImportPreloadedAsync(containerd, stop);
        KubeletApi.KubeletServer kubeletApi;
        try
        {
            kubeletApi = await StartKubeletApiAsync(files, stop);
        }
        catch (Exception e) when (e is IOException or Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            throw new AgentStartException($"the kubelet API cannot listen on port {options.KubeletPort}: {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new AgentStartException($"the kubelet API cannot start: {e.Message}", e);
        }
        await using var kubeletApiLifetime = kubeletApi;
        logger.LogInformation("kubelet API on port {Port}, pod logs in {Dir}", kubeletApi.Port, options.PodLogDir);
        await RegisterAsync(api, stop);
        long tick = 0;
        var heartbeat = new NodeHeartbeat(api, options.NodeName, nodeIp, options.DataDir, new CriRuntimeStatus(containerd.Cri), logger, TimeProvider.System)
        {
            KubeletPort = kubeletApi.Port,
            EachTick = async ct =>
            {
                tick++;
                if (tick % DiscoveryTicks == 1 && await ServerDiscovery.RefreshAsync(api, servers, ct))
                {
                    files.SaveServers(servers.All.Skip(1));
                    logger.LogInformation("API servers: {Servers}", string.Join(", ", servers.All));
                }
                if (tick % RenewalTicks == 0)
                {
                    try
                    {
                        if (await joiner.RenewIfDueAsync(ct) is { } serving) kubeletApi.UseServingCertificate(serving);
                    }
                    catch (JoinException e) { logger.LogWarning("node {Node} certificate renewal refused: {Error}", options.NodeName, e.Message); }
                }
            },
        };
        var beats = heartbeat.RunAsync(stop);
        Network.ClusterSettings settings;
        try
        {
            settings = await Network.ClusterSettings.LoadAsync(api, logger, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await beats;
            return;
        }
        settings = settings with { ClusterDns = options.ClusterDns ?? settings.ClusterDns };
        var network = options.Network
            ? new Network.NodeNetwork(api, new Network.HostCommand(), settings, options.NodeName, nodeIp, options.NodeIface, options.ResolvConf, logger).RunAsync(stop)
            : Task.CompletedTask;
        // Pods start once the preloaded images (the pause image among them) are in, so no sandbox fails for want of them.
        await images;
        var events = new EventRecorder(new ApiEventSink(api), TimeProvider.System, options.NodeName, logger);
        using var probes = new Kubelet.Probes.ProbeManager(containerd.Cri, logger, nodeIp.ToString(), events);
        var podWorker = new Kubelet.Kubelet(api, containerd.Cri,
            new Kubelet.KubeletOptions(options.NodeName, nodeIp.ToString(), options.PodLogDir, ContainerRuntime.CniConfDir(options.DataDir))
            {
                ClusterDns = settings.ClusterDns.ToString(), ClusterDomain = settings.Domain, CniMasquerade = !options.Network,
                CniIpamDir = ContainerRuntime.CniIpamDir(options.DataDir),
                // Our containerd's root; one attached to keeps its own durability.
                UnpackRoot = options.ContainerRuntimeEndpoint is null ? ContainerRuntime.Directory(options.DataDir) : null,
            }, logger, probes)
        { Inputs = new Kubelet.PodInputs(api, Path.Combine(options.DataDir, "pods-volumes")), Events = events };
        var pods = podWorker.RunAsync(stop);
        // Preloaded images are never collected: an offline node could not get them back.
        using var contentApi = new Images.ContainerdConnection(containerd.SocketPath);
        var imageGc = new Images.ImageGc(containerd.Cri, contentApi, Containerd.ContainerdConfig.PauseImage, new Images.ImageGcPolicy(), logger, TimeProvider.System).RunAsync(stop);
        await beats;
        await pods;
        await imageGc;
        await network;
    }

    /// <summary>Registration is retried until it works: a server restarting is no reason for the agent to exit.</summary>
    async Task RegisterAsync(ApiClient api, CancellationToken stop)
    {
        var registration = new NodeRegistration(api, options.NodeName,
            NodeRegistration.StandardLabels(options.NodeName, MachineInfo.GoArch(RuntimeInformation.OSArchitecture), options.Labels), options.Taints);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await registration.RegisterAsync(stop);
                return;
            }
            catch (Exception e) when (!stop.IsCancellationRequested && e is HttpRequestException or ApiStatusException or InvalidDataException)
            {
                logger.LogWarning("node {Node} registration: {Error}", options.NodeName, e.Message);
                try { await Task.Delay(TimeSpan.FromSeconds(2), stop); } catch (OperationCanceledException) { }
            }
        }
    }

    /// <summary>Waits for containerd, then imports the archives of <see cref="ContainerRuntime.ImageDirectories"/>; failures are logged.</summary>
    async Task ImportPreloadedAsync(Containerd.ContainerdSupervisor containerd, CancellationToken stop)
    {
        try
        {
            await containerd.Ready.WaitAsync(stop);
            using var preloaded = new Images.PreloadedImages(containerd.SocketPath, options.DataDir, logger);
            await preloaded.ImportAsync(ContainerRuntime.ImageDirectories(options.DataDir), stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is InvalidOperationException or Grpc.Core.RpcException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("preloaded images not imported: {Error}", e.Message);
        }
    }

    /// <summary>
    /// Starts the kubelet API with the serving certificate from the join; callers must chain to the client CA, which
    /// is the last certificate of client-kubelet.crt (the join answers the leaf followed by its CA).
    /// </summary>
    async Task<KubeletApi.KubeletServer> StartKubeletApiAsync(NodeCredentials files, CancellationToken ct)
    {
        var serving = files.Load("serving-kubelet") ?? throw new InvalidDataException("no serving-kubelet certificate after the join");
        var client = files.Load("client-kubelet") ?? throw new InvalidDataException("no client-kubelet certificate after the join");
        var chain = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        chain.ImportFromPem(client.CertificatePem);
        if (chain.Count < 2) throw new InvalidDataException($"{Path.Combine(files.TlsDir, "client-kubelet.crt")} holds no client CA after the certificate (written by an older agent: delete it and restart to join again)");
        var clientCa = chain[^1].ExportCertificatePem();
        foreach (var c in chain) c.Dispose();
        return await KubeletApi.KubeletServer.StartAsync(new KubeletApi.KubeletServerOptions(
            System.Net.IPAddress.Any, options.KubeletPort, serving, clientCa, new Kubelet.Logs.PodLogLocator(options.PodLogDir), new KubeletApi.ExecOptions(ContainerRuntime.Socket(options), Path.Combine(options.DataDir, "exec"))), ct);
    }
}
