// Runs the agent until SIGTERM/SIGINT: join, register the node, heartbeat; refusals end in one line and exit 1.
using System.Runtime.InteropServices;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Join;
using Appliance.ClusterRuntime.Agent.Node;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Pki;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent;

/// <summary>The agent verb's logic.</summary>
public sealed class AgentCommand(AgentOptions options, TextWriter error)
{
    /// <summary>How often the learned servers are refreshed, in heartbeat ticks (10 s each).</summary>
    const int DiscoveryTicks = 3;

    /// <summary>How often certificates are checked for renewal, in heartbeat ticks (one hour).</summary>
    const int RenewalTicks = 360;

    /// <summary>Joins and runs until a signal. Returns the exit code.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(b =>
        {
            b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            b.SetMinimumLevel(LogLevel.Information);
        });
        var logger = loggers.CreateLogger("Appliance.ClusterRuntime.Agent");
        NodeToken.TryParse(options.Token, out var token);
        var files = new NodeCredentials(options.DataDir);
        var servers = new ServerList(options.Server, files.LoadServers());
        servers.Switched += (from, to) => logger.LogWarning("API server {From} unreachable; now using {To}", from, to);
        var nodeIp = NodeIp.Choose(options.NodeIp, options.Server);
        var joiner = new NodeJoiner(files, servers, token, options.NodeName, nodeIp, logger, TimeProvider.System);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            // System.CommandLine cancels ct on the same signal, so the run may have ended (and disposed stop) already.
            try { stop.Cancel(); }
            catch (ObjectDisposedException) { }
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        try
        {
            await joiner.JoinAsync(stop.Token);
        }
        catch (JoinException e)
        {
            error.WriteLine($"appliance-runtime agent: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException)
        {
            error.WriteLine($"appliance-runtime agent: join failed: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        logger.LogInformation("node {Node} joined {Server} (node IP {Ip}, data dir {Dir})", options.NodeName, servers.Current, nodeIp, options.DataDir);

        using var api = new ApiClient(new HttpClient(new FailoverHandler(servers, ClusterHttp.Create(joiner.CaPem, () => joiner.ClientCertificate)))
        {
            BaseAddress = servers.Current,
            Timeout = Timeout.InfiniteTimeSpan,
        });
        Containerd.ContainerdSupervisor containerd;
        try
        {
            containerd = ContainerRuntime.Start(options, line => logger.LogInformation("containerd: {Line}", line));
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"appliance-runtime agent: {e.Message}");
            return 2;
        }
        // Stopping the agent stops containerd alone (SIGTERM to its pid); shims and containers keep running.
        await using var stopContainerd = containerd;
        var runtime = new CriRuntimeStatus(containerd.Cri);
        KubeletApi.KubeletServer kubelet;
        try
        {
            kubelet = await StartKubeletAsync(files, stop.Token);
        }
        catch (Exception e) when (e is IOException or Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            error.WriteLine($"appliance-runtime agent: the kubelet API cannot listen on port {options.KubeletPort}: {e.Message}");
            return 1;
        }
        catch (InvalidDataException e)
        {
            error.WriteLine($"appliance-runtime agent: the kubelet API cannot start: {e.Message}");
            return 1;
        }
        await using var kubeletLifetime = kubelet;
        logger.LogInformation("kubelet API on port {Port}, pod logs in {Dir}", kubelet.Port, options.PodLogDir);
        var registration = new NodeRegistration(api, options.NodeName,
            NodeRegistration.StandardLabels(options.NodeName, MachineInfo.GoArch(RuntimeInformation.OSArchitecture), options.Labels), options.Taints);
        long tick = 0;
        var heartbeat = new NodeHeartbeat(api, options.NodeName, nodeIp, options.DataDir, runtime, logger, TimeProvider.System)
        {
            KubeletPort = kubelet.Port,
            EachTick = async ct2 =>
            {
                tick++;
                if (tick % DiscoveryTicks == 1 && await ServerDiscovery.RefreshAsync(api, servers, ct2))
                {
                    files.SaveServers(servers.All.Skip(1));
                    logger.LogInformation("API servers: {Servers}", string.Join(", ", servers.All));
                }
                if (tick % RenewalTicks == 0)
                {
                    try { await joiner.RenewIfDueAsync(ct2); }
                    catch (JoinException e) { logger.LogWarning("node {Node} certificate renewal refused: {Error}", options.NodeName, e.Message); }
                }
            },
        };
        // Registration is retried until it works: a server restarting is no reason for the agent to exit.
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await registration.RegisterAsync(stop.Token);
                break;
            }
            catch (Exception e) when (!stop.IsCancellationRequested && e is HttpRequestException or ApiStatusException or InvalidDataException)
            {
                logger.LogWarning("node {Node} registration: {Error}", options.NodeName, e.Message);
                try { await Task.Delay(TimeSpan.FromSeconds(2), stop.Token); } catch (OperationCanceledException) { }
            }
        }
        var events = new EventRecorder(new ApiEventSink(api), TimeProvider.System, options.NodeName, logger);
        var podWorker = new Kubelet.Kubelet(api, containerd.Cri,
            new Kubelet.KubeletOptions(options.NodeName, nodeIp.ToString(), options.PodLogDir, ContainerRuntime.CniConfDir(options.DataDir)), logger,
            new Kubelet.Probes.ProbeManager(containerd.Cri, logger, events))
        { Inputs = new Kubelet.PodInputs(api, Path.Combine(options.DataDir, "pods-volumes")), Events = events };
        var pods = podWorker.RunAsync(stop.Token);
        await heartbeat.RunAsync(stop.Token);
        await pods;
        return 0;
    }

    /// <summary>
    /// Starts the kubelet API with the serving certificate from the join; callers must chain to the client CA, which
    /// is the last certificate of client-kubelet.crt (the join answers the leaf followed by its CA).
    /// </summary>
    async Task<KubeletApi.KubeletServer> StartKubeletAsync(NodeCredentials files, CancellationToken ct)
    {
        var serving = files.Load("serving-kubelet") ?? throw new InvalidDataException("no serving-kubelet certificate after the join");
        var client = files.Load("client-kubelet") ?? throw new InvalidDataException("no client-kubelet certificate after the join");
        var chain = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        chain.ImportFromPem(client.CertificatePem);
        if (chain.Count < 2) throw new InvalidDataException($"{Path.Combine(files.TlsDir, "client-kubelet.crt")} holds no client CA after the certificate (written by an older agent: delete it and restart to join again)");
        var clientCa = chain[^1].ExportCertificatePem();
        foreach (var c in chain) c.Dispose();
        return await KubeletApi.KubeletServer.StartAsync(new KubeletApi.KubeletServerOptions(
            System.Net.IPAddress.Any, options.KubeletPort, serving, clientCa, new Kubelet.Logs.PodLogLocator(options.PodLogDir)), ct);
    }
}
