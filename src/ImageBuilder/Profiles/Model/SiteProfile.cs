// The site profile (apiVersion appliance/v1, kind SiteProfile): everything one site's image needs.
using Appliance.ImageBuilder.Boards;

namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>
/// A fully merged site profile: <c>extends:</c> applied, <c>${env:...}</c> and <c>tokenFile:</c> resolved.
/// Secrets are present in clear (the build needs them); render output redacts them.
/// </summary>
public sealed class SiteProfile
{
    /// <summary>The only supported API version.</summary>
    public const string SupportedApiVersion = "appliance/v1";

    /// <summary>The only supported kind.</summary>
    public const string SupportedKind = "SiteProfile";

    /// <summary>Always <c>appliance/v1</c>.</summary>
    [ProfileField("apiVersion", Required = true, Description = "Profile format version; always appliance/v1.")]
    public string ApiVersion { get; set; } = "";

    /// <summary>Always <c>SiteProfile</c>.</summary>
    [ProfileField("kind", Required = true, Description = "Always SiteProfile.")]
    public string Kind { get; set; } = "";

    /// <summary>Name and labels of the site.</summary>
    [ProfileField("metadata", Required = true, Description = "Name and labels of the site.")]
    public Metadata Metadata { get; set; } = new();

    /// <summary>Board, output format and disk size.</summary>
    [ProfileField("target", Required = true, Description = "The hardware and the kind of image to build.")]
    public TargetSpec Target { get; set; } = new();

    /// <summary>The operating system image.</summary>
    [ProfileField("os", Required = true, Description = "The operating system base image.")]
    public OsSpec Os { get; set; } = new();

    /// <summary>The bundled cluster runtime.</summary>
    [ProfileField("runtime", Required = true, Description = "The cluster runtime to install: a version or an image.")]
    public RuntimeSpec Runtime { get; set; } = new();

    /// <summary>This node's role, hostname, labels and taints.</summary>
    [ProfileField("node", Required = true, Description = "This node's role, hostname, labels and taints.")]
    public NodeSpec Node { get; set; } = new();

    /// <summary>How the node forms or joins the site cluster.</summary>
    [ProfileField("cluster", Required = true, Description = "Join token, server URL and network ranges of the site cluster.")]
    public ClusterSpec Cluster { get; set; } = new();

    /// <summary>Interfaces and time servers.</summary>
    [ProfileField("network", Description = "Network interfaces and NTP servers. Without interfaces, every wired interface uses DHCP.")]
    public NetworkSpec Network { get; set; } = new();

    /// <summary>Login users.</summary>
    [ProfileField("users", Description = "Login users and their SSH keys.")]
    public List<UserSpec> Users { get; set; } = [];

    /// <summary>Container images to preload, as content-store references.</summary>
    [ProfileField("images", Description = "Container images to preload, as content-store references.")]
    public List<string> Images { get; set; } = [];

    /// <summary>Kubernetes manifests deployed automatically at start.</summary>
    [ProfileField("manifests", Description = "Kubernetes manifest files deployed automatically; paths relative to the profile file that lists them.")]
    public List<ProfilePath> Manifests { get; set; } = [];

    /// <summary>The key that signs the image.</summary>
    [ProfileField("signing", Description = "The key that signs the built image.")]
    public SigningSpec? Signing { get; set; }

    /// <summary>Upgrade version and trust.</summary>
    [ProfileField("upgrade", Description = "The version this image carries and the public key devices trust for upgrades.")]
    public UpgradeSpec? Upgrade { get; set; }
}

/// <summary>Name and labels.</summary>
public sealed class Metadata
{
    /// <summary>The site name (an RFC 1123 label); used in output file names.</summary>
    [ProfileField("name", Required = true, Description = "Site name: lowercase letters, digits and '-', at most 63 characters.")]
    public string Name { get; set; } = "";

    /// <summary>Free-form labels (Kubernetes label syntax).</summary>
    [ProfileField("labels", Description = "Labels for inventory and selection (Kubernetes label syntax).")]
    public Dictionary<string, string> Labels { get; set; } = [];
}

/// <summary>Board, format and size.</summary>
public sealed class TargetSpec
{
    /// <summary>The board family (one of <see cref="Board.All"/>); null only when the profile did not name a known one.</summary>
    [ProfileField("board", Required = true, Description = "The board family the image boots on.")]
    public Board? Board { get; set; }

    /// <summary>raw (default) or iso.</summary>
    [ProfileField("format", Description = "raw (disk image, the default) or iso (NAME.iso: boots live from a CD or USB stick and installs to disk; x86_64-uefi and arm64-uefi).")]
    public ImageFormat Format { get; set; } = ImageFormat.Raw;

    /// <summary>The size of the raw disk image (for iso: of the disk it installs to).</summary>
    [ProfileField("diskSize", Required = true, Description = "Disk image size, such as 8GiB (at least 1GiB, a multiple of 512 bytes).")]
    public ByteSize DiskSize { get; set; }

    /// <summary>The disk the ISO's installer writes to; null: the machine's only non-removable disk.</summary>
    [ProfileField("installDisk", Description = "format iso only: the disk \"Install appliance\" writes to, as /dev/NAME (/dev/sda, /dev/vda, /dev/nvme0n1) or /dev/disk/by-id/NAME or /dev/disk/by-path/NAME; without it, the machine's only non-removable disk (several are refused).")]
    public string? InstallDisk { get; set; }
}

/// <summary>The operating system.</summary>
public sealed class OsSpec
{
    /// <summary>A content-store reference, such as appliance/os-debian:bookworm.</summary>
    [ProfileField("image", Required = true, Description = "Content-store reference of the OS image, such as appliance/os-debian:bookworm.")]
    public string Image { get; set; } = "";
}

/// <summary>
/// The runtime release: exactly one of version, image or absent. Version V names the content store's
/// <c>appliance/runtime:V</c> (kits/runtime/publish.sh makes it; a leading 'v' is dropped).
/// </summary>
[ProfileOneOf("version", "image", "absent")]
public sealed class RuntimeSpec
{
    /// <summary>A runtime release such as 0.1.0: the store's appliance/runtime:0.1.0.</summary>
    [ProfileField("version", Description = "Runtime release, such as 0.1.0: the content store's appliance/runtime:0.1.0, made by kits/runtime/publish.sh (exactly one of version, image or absent).")]
    public string? Version { get; set; }

    /// <summary>A content-store reference of a runtime image.</summary>
    [ProfileField("image", Description = "Content-store reference of a runtime release image (exactly one of version, image or absent).")]
    public string? Image { get; set; }

    /// <summary>True: the image carries no runtime and no firstboot (a board whose release cannot be published here).</summary>
    [ProfileField("absent", Description = "true: build the image without the runtime release (no appliance-runtime, no appliance-firstboot), for a board whose release is not in the store (exactly one of version, image or absent).")]
    public bool? Absent { get; set; }
}

/// <summary>This node.</summary>
public sealed class NodeSpec
{
    /// <summary>server or agent.</summary>
    [ProfileField("role", Required = true, Description = "server (runs the control plane) or agent (joins cluster.server).")]
    public NodeRole Role { get; set; }

    /// <summary>An RFC 1123 hostname.</summary>
    [ProfileField("hostname", Required = true, Description = "RFC 1123 hostname: lowercase letters, digits, '-' and '.'.")]
    public string Hostname { get; set; } = "";

    /// <summary>Kubernetes node labels.</summary>
    [ProfileField("labels", Description = "Kubernetes labels for the node.")]
    public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>Kubernetes node taints.</summary>
    [ProfileField("taints", Description = "Kubernetes taints for the node.")]
    public List<Taint> Taints { get; set; } = [];
}

/// <summary>A Kubernetes taint.</summary>
public sealed class Taint
{
    /// <summary>Taint key.</summary>
    [ProfileField("key", Required = true, Description = "Taint key (Kubernetes label-key syntax).")]
    public string Key { get; set; } = "";

    /// <summary>Taint value.</summary>
    [ProfileField("value", Description = "Taint value (optional).")]
    public string? Value { get; set; }

    /// <summary>Taint effect.</summary>
    [ProfileField("effect", Required = true, Description = "NoSchedule, PreferNoSchedule or NoExecute.")]
    public TaintEffect Effect { get; set; }
}
