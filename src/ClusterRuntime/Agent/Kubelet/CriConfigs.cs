// Pod and container specs turned into CRI sandbox and container configs (what the kubelet's kuberuntime sends).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>Builds <see cref="PodSandboxConfig"/> and <see cref="ContainerConfig"/> from a pod.</summary>
internal static class CriConfigs
{
    /// <summary>The sandbox and container label holding the pod's UID (the kubelet's, so crictl filters work).</summary>
    public const string PodUidLabel = "io.kubernetes.pod.uid";

    /// <summary>The container label holding the container's name.</summary>
    public const string ContainerNameLabel = "io.kubernetes.container.name";

    /// <summary>The CFS period the CPU limit is expressed in (100 ms, as the kubelet).</summary>
    const long CpuPeriod = 100_000;

    /// <summary>The pod's log directory: <c>ROOT/NS_NAME_UID</c>.</summary>
    public static string LogDirectory(string logRoot, JsonObject pod) =>
        Path.Combine(logRoot, $"{Obj.Str(pod, "metadata", "namespace")}_{Obj.Str(pod, "metadata", "name")}_{Obj.Str(pod, "metadata", "uid")}");

    /// <summary>
    /// The Events' <c>involvedObject.fieldPath</c> for container <paramref name="name"/> of <paramref name="pod"/>:
    /// <c>spec.initContainers{NAME}</c> or <c>spec.containers{NAME}</c>, as upstream's kubelet; null for no container.
    /// </summary>
    public static string? FieldPath(JsonObject pod, string? name) =>
        name is null ? null
        : Obj.Items(pod, "spec", "initContainers").Any(c => Obj.Str(c, "name") == name) ? $"spec.initContainers{{{name}}}"
        : $"spec.containers{{{name}}}";

    /// <summary>True for <c>spec.hostNetwork</c>.</summary>
    public static bool HostNetwork(JsonObject pod) => Obj.Bool(pod, "spec", "hostNetwork") == true;

    /// <summary>The pod's IP: its sandbox's, the node's for a hostNetwork pod; empty while there is none.</summary>
    public static string PodIp(JsonObject pod, PodSandboxStatus sandbox, string nodeIp) => HostNetwork(pod) ? nodeIp : sandbox.Network?.Ip ?? "";

    /// <summary>The sandbox config for attempt <paramref name="attempt"/> (log directory under <see cref="KubeletOptions.PodLogRoot"/>, DNS from <see cref="PodDns"/>).</summary>
    public static PodSandboxConfig Sandbox(JsonObject pod, KubeletOptions options, uint attempt)
    {
        var logRoot = options.PodLogRoot;
        string name = Obj.Str(pod, "metadata", "name")!, ns = Obj.Str(pod, "metadata", "namespace")!, uid = Obj.Str(pod, "metadata", "uid")!;
        var config = new PodSandboxConfig
        {
            Metadata = new PodSandboxMetadata { Name = name, Namespace = ns, Uid = uid, Attempt = attempt },
            LogDirectory = LogDirectory(logRoot, pod),
            Labels =
            {
                [PodUidLabel] = uid,
                ["io.kubernetes.pod.name"] = name,
                ["io.kubernetes.pod.namespace"] = ns,
            },
            Linux = new LinuxPodSandboxConfig { SecurityContext = new LinuxSandboxSecurityContext { NamespaceOptions = new NamespaceOption() } },
            DnsConfig = PodDns.For(pod, options),
        };
        // runc refuses a hostname in the host's UTS namespace, which hostNetwork pods share.
        if (HostNetwork(pod)) config.Linux.SecurityContext.NamespaceOptions.Network = NamespaceMode.Node;
        else config.Hostname = Obj.Str(pod, "spec", "hostname") ?? name;
        foreach (var c in Obj.Items(pod, "spec", "containers"))
            foreach (var p in Obj.Items(c, "ports"))
                if (Obj.Long(p, "hostPort") is long hostPort and > 0)
                    config.PortMappings.Add(new PortMapping
                    {
                        ContainerPort = Obj.Int(p, 0, "containerPort"),
                        HostPort = (int)hostPort,
                        HostIp = Obj.Str(p, "hostIP") ?? "",
                        Protocol = Obj.Str(p, "protocol") switch { "UDP" => Protocol.Udp, "SCTP" => Protocol.Sctp, _ => Protocol.Tcp },
                    });
        return config;
    }

    /// <summary>The container config for restart <paramref name="restartCount"/>, with <paramref name="inputs"/> (env, mounts, expanded command and args).</summary>
    public static ContainerConfig Container(JsonObject pod, JsonObject container, uint restartCount, ContainerInputs inputs)
    {
        var name = Obj.Str(container, "name")!;
        var config = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = name, Attempt = restartCount },
            Image = new ImageSpec { Image = Obj.Str(container, "image")! },
            WorkingDir = Obj.Str(container, "workingDir") ?? "",
            LogPath = $"{name}/{restartCount}.log",
            Stdin = Obj.Bool(container, "stdin") == true,
            StdinOnce = Obj.Bool(container, "stdinOnce") == true,
            Tty = Obj.Bool(container, "tty") == true,
            Labels = { [PodUidLabel] = Obj.Str(pod, "metadata", "uid")!, [ContainerNameLabel] = name },
            Linux = new LinuxContainerConfig { Resources = Resources(container), SecurityContext = Security(pod, container) },
        };
        config.Command.AddRange(inputs.Command ?? Strings(container, "command"));
        config.Args.AddRange(inputs.Args ?? Strings(container, "args"));
        config.Envs.AddRange(inputs.Env);
        config.Mounts.AddRange(inputs.Mounts);
        return config;
    }

    static IEnumerable<string> Strings(JsonObject obj, string field) =>
        obj[field] is JsonArray a ? a.Select(n => n?.GetValue<string>() ?? "") : [];

    /// <summary>CPU request → shares (1024 per core, at least 2), CPU limit → CFS quota, memory limit → bytes.</summary>
    public static LinuxContainerResources Resources(JsonObject container)
    {
        var r = new LinuxContainerResources { CpuShares = 2 };
        var requests = Obj.Object(container, "resources", "requests");
        var limits = Obj.Object(container, "resources", "limits");
        // As the kubelet: a missing request defaults to the limit.
        var cpuRequest = requests?["cpu"] ?? limits?["cpu"];
        if (cpuRequest is not null) r.CpuShares = Math.Max(2, Quantity.Milli(cpuRequest) * 1024 / 1000);
        if (limits?["cpu"] is { } cpuLimit)
        {
            r.CpuPeriod = CpuPeriod;
            r.CpuQuota = Math.Max(1000, Quantity.Milli(cpuLimit) * CpuPeriod / 1000);
        }
        if (limits?["memory"] is { } memory) r.MemoryLimitInBytes = Quantity.Value(memory);
        return r;
    }

    /// <summary>The container's security context, pod-level runAsUser/runAsGroup as the fallback.</summary>
    public static LinuxContainerSecurityContext Security(JsonObject pod, JsonObject container)
    {
        var sc = Obj.Object(container, "securityContext");
        var podSc = Obj.Object(pod, "spec", "securityContext");
        var s = new LinuxContainerSecurityContext
        {
            Privileged = Obj.Bool(sc, "privileged") == true,
            ReadonlyRootfs = Obj.Bool(sc, "readOnlyRootFilesystem") == true,
            NoNewPrivs = Obj.Bool(sc, "allowPrivilegeEscalation") == false,
            NamespaceOptions = new NamespaceOption { Pid = NamespaceMode.Container },
        };
        if (Obj.Bool(pod, "spec", "hostNetwork") == true) s.NamespaceOptions.Network = NamespaceMode.Node;
        if ((Obj.Long(sc, "runAsUser") ?? Obj.Long(podSc, "runAsUser")) is long uid) s.RunAsUser = new Int64Value { Value = uid };
        if ((Obj.Long(sc, "runAsGroup") ?? Obj.Long(podSc, "runAsGroup")) is long gid) s.RunAsGroup = new Int64Value { Value = gid };
        if (Obj.Object(sc, "capabilities") is { } caps)
        {
            s.Capabilities = new Capability();
            s.Capabilities.AddCapabilities.AddRange(Strings(caps, "add").Select(Cap));
            s.Capabilities.DropCapabilities.AddRange(Strings(caps, "drop").Select(Cap));
        }
        return s;
    }

    /// <summary>Kubernetes names capabilities without the prefix (NET_ADMIN); containerd wants CAP_NET_ADMIN or ALL.</summary>
    static string Cap(string name) => name == "ALL" || name.StartsWith("CAP_", StringComparison.Ordinal) ? name : "CAP_" + name;
}
