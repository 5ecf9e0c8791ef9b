// Checks that span fields or need more than a type: names, ranges, overlaps, roles, the board's formats.
using Appliance.ImageBuilder.Profiles.Binding;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Profiles.Validation;

/// <summary>
/// Semantic checks on a bound profile. Each problem is placed at the mark of the field it names;
/// a missing field is placed at its parent section.
/// </summary>
internal sealed class ProfileValidator(IReadOnlyDictionary<string, SourceMark> marks, IReadOnlyDictionary<string, SourceMark> keyMarks,
    IReadOnlySet<string> bound, List<ProfileProblem> problems)
{
    /// <summary>Shortest accepted join token.</summary>
    public const int MinTokenLength = 16;

    /// <summary>Smallest accepted disk: boot + two root slots + a data partition need room.</summary>
    public static readonly ByteSize MinDiskSize = new(1L << 30);

    public void Validate(SiteProfile p)
    {
        if (Has("apiVersion") && p.ApiVersion != SiteProfile.SupportedApiVersion)
            Add("apiVersion", $"unsupported apiVersion '{p.ApiVersion}'; expected '{SiteProfile.SupportedApiVersion}'");
        if (Has("kind") && p.Kind != SiteProfile.SupportedKind)
            Add("kind", $"unsupported kind '{p.Kind}'; expected '{SiteProfile.SupportedKind}'");

        if (Has("metadata.name") && !Syntax.IsRfc1123Label(p.Metadata.Name))
            Add("metadata.name", $"'{p.Metadata.Name}' is not an RFC 1123 name (lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit)");
        Labels(p.Metadata.Labels, "metadata.labels");

        if (p.Target.Board is { } board && Ok("target.format") && board.FormatProblem(p.Target.Format) is { } formatProblem)
            Add("target.format", formatProblem);
        if (Has("target.installDisk"))
        {
            if (p.Target.Format != Boards.ImageFormat.Iso)
                Add("target.installDisk", "applies only to target.format: iso (the ISO's installer writes that disk); a raw image is written by hand");
            else if (!Syntax.IsDiskDevice(p.Target.InstallDisk!))
                Add("target.installDisk", $"'{p.Target.InstallDisk}' is not a disk device path: expected /dev/NAME (such as /dev/sda, /dev/vda, /dev/nvme0n1) or /dev/disk/by-id/NAME or /dev/disk/by-path/NAME");
        }
        if (Has("target.diskSize"))
        {
            if (p.Target.DiskSize.Bytes < MinDiskSize.Bytes)
                Add("target.diskSize", $"{p.Target.DiskSize} is too small; at least {MinDiskSize} is needed");
            else if (p.Target.DiskSize.Bytes % 512 != 0)
                Add("target.diskSize", $"{p.Target.DiskSize.Bytes} bytes is not a multiple of 512");
        }

        ImageRef(p.Os.Image, "os.image");
        foreach (var group in OneOfGroups.Site)
            OneOf(group);
        Runtime(p.Runtime);
        Node(p.Node);
        Cluster(p);
        Network(p.Network);
        Users(p.Users);
        for (int i = 0; i < p.Images.Count; i++)
            ImageRef(p.Images[i], Paths.Item("images", i));
        for (int i = 0; i < p.Manifests.Count; i++)
        {
            var m = p.Manifests[i];
            var path = Paths.Item("manifests", i);
            if (!File.Exists(m.FullPath))
                Add(path, $"manifest file '{m.Written}' not found (relative to the profile that lists it)");
            else if (Path.GetExtension(m.Written) is not (".yaml" or ".yml" or ".json"))
                Add(path, $"manifest '{m.Written}' must be a .yaml, .yml or .json file");
        }
        if (p.Upgrade is { } u && Has("upgrade.version") && !Syntax.IsSemVer(u.Version))
            Add("upgrade.version", $"'{u.Version}' is not a semantic version such as 1.4.0");
    }

    /// <summary>
    /// Each one-of group (<see cref="OneOfGroups.Site"/>) of a given section holds exactly one field. Several are only
    /// possible from one file, since a child's choice replaces its parent's; the problem is placed at the second one.
    /// </summary>
    private void OneOf(OneOfGroup group)
    {
        if (!Has(group.Section))
            return;
        // A field counts when it holds a value, even one refused above (that has its own problem); an explicit null does not.
        var set = group.FieldPaths.Where(f => Has(f) || problems.Any(p => p.Path == f)).ToList();
        if (set.Count == 0 && group.OptionalWithPath is { } supplier && Present(supplier))
            return;
        if (set.Count == 0)
            Add(group.Section, $"set exactly one of {group.Names}" + (group.OptionalWithPath is { } with ? $" (or {with}, which holds it)" : ""));
        else if (set.Count > 1)
            Add(set[1], $"set either {group.Names}, not both");
    }

    private void Runtime(RuntimeSpec r)
    {
        if (r.Version is not null && !Syntax.IsSemVer(r.Version))
            Add("runtime.version", $"'{r.Version}' is not a version such as 0.1.0");
        if (r.Image is not null)
            ImageRef(r.Image, "runtime.image");
        if (r.Absent == false)
            Add("runtime.absent", "only 'true' is meaningful; to carry the runtime, set runtime.version or runtime.image instead");
    }

    private void Node(NodeSpec n)
    {
        if (Has("node.hostname") && !Syntax.IsRfc1123Hostname(n.Hostname))
            Add("node.hostname", $"'{n.Hostname}' is not an RFC 1123 hostname (lowercase letters, digits, '-' and '.'; labels of 1 to 63 characters that start and end with a letter or digit)");
        Labels(n.Labels, "node.labels");
        for (int i = 0; i < n.Taints.Count; i++)
        {
            var path = Paths.Item("node.taints", i);
            var t = n.Taints[i];
            if (Has(path + ".key") && !Syntax.IsLabelKey(t.Key))
                Add(path + ".key", $"'{t.Key}' is not a valid taint key");
            if (t.Value is not null && !Syntax.IsLabelValue(t.Value))
                Add(path + ".value", $"'{t.Value}' is not a valid taint value");
        }
    }

    private void Cluster(SiteProfile p)
    {
        var c = p.Cluster;
        if (!Has("cluster")) return;
        if (c.Token is { } token && token.Length < MinTokenLength)
            Add(Has("cluster.tokenFile") ? "cluster.tokenFile" : "cluster.token",
                $"the token is {token.Length} characters; at least {MinTokenLength} are required");
        if (p.Node.Role == NodeRole.Agent && Has("node.role") && !Present("cluster.server"))
            Add("cluster.server", "required when node.role is agent: the https URL of the server to join");
        if (Ok("cluster.clusterCidr") && Ok("cluster.serviceCidr"))
        {
            if (c.ClusterCidr.Network.AddressFamily != c.ServiceCidr.Network.AddressFamily)
                Add("cluster.serviceCidr", $"{c.ServiceCidr} and clusterCidr {c.ClusterCidr} are of different address families");
            else if (c.ClusterCidr.Overlaps(c.ServiceCidr))
                Add(Has("cluster.serviceCidr") ? "cluster.serviceCidr" : "cluster.clusterCidr",
                    $"serviceCidr {c.ServiceCidr} overlaps clusterCidr {c.ClusterCidr}");
        }
        if (Ok("cluster.serviceCidr") && Ok("cluster.clusterDns") && !c.ServiceCidr.Contains(c.ClusterDns))
            Add(Has("cluster.clusterDns") ? "cluster.clusterDns" : "cluster.serviceCidr",
                $"clusterDns {c.ClusterDns} is not inside serviceCidr {c.ServiceCidr}");
    }

    private void Network(NetworkSpec n)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < n.Interfaces.Count; i++)
        {
            var path = Paths.Item("network.interfaces", i);
            var nic = n.Interfaces[i];
            if (Has(path + ".name") && !names.Add(nic.Name))
                Add(path + ".name", $"interface '{nic.Name}' is listed more than once");
            bool isStatic = nic.Addresses.Count > 0 || nic.Gateway is not null || nic.Dns.Count > 0;
            if (nic.Dhcp == true && isStatic)
                Add(path + ".dhcp", "dhcp is true, so addresses, gateway and dns must not be set");
            else if (Has(path) && nic.Dhcp != true && nic.Addresses.Count == 0 && !Present(path + ".addresses") && Ok(path + ".dhcp"))
                Add(path, "set dhcp: true, or give static addresses");
            if (nic.Gateway is { } gw && nic.Addresses.Count > 0 && !nic.Addresses.Any(a => a.Subnet.Contains(gw)))
                Add(path + ".gateway", $"gateway {gw} is not on the subnet of any address ({string.Join(", ", nic.Addresses.Select(a => a.Subnet))})");
        }
        for (int i = 0; i < n.Ntp.Count; i++)
        {
            var server = n.Ntp[i];
            if (Model.IpText.TryParseAddress(server, out _))
                continue;
            if (server.All(c => char.IsAsciiDigit(c) || c == '.'))
                Add(Paths.Item("network.ntp", i), $"'{server}' is not an IP address");
            else if (!Syntax.IsRfc1123Hostname(server))
                Add(Paths.Item("network.ntp", i), $"'{server}' is neither an IP address nor an RFC 1123 hostname");
        }
    }

    private void Users(List<UserSpec> users)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < users.Count; i++)
        {
            var path = Paths.Item("users", i);
            var u = users[i];
            if (Has(path + ".name"))
            {
                if (!Syntax.IsUserName(u.Name))
                    Add(path + ".name", $"'{u.Name}' is not a valid user name (a lowercase letter or '_', then letters, digits, '_' or '-'; at most 32)");
                else if (!names.Add(u.Name))
                    Add(path + ".name", $"user '{u.Name}' is listed more than once");
            }
            for (int k = 0; k < u.SshAuthorizedKeys.Count; k++)
                if (Syntax.SshKeyProblem(u.SshAuthorizedKeys[k]) is { } why)
                    Add(Paths.Item(path + ".sshAuthorizedKeys", k), why);
        }
    }

    private void Labels(Dictionary<string, string> labels, string path)
    {
        foreach (var (k, v) in labels)
        {
            if (!Syntax.IsLabelKey(k))
                problems.Add(ProfileProblem.At(keyMarks[Paths.Child(path, k)], Paths.Child(path, k), $"'{k}' is not a valid label key"));
            else if (!Syntax.IsLabelValue(v))
                Add(Paths.Child(path, k), $"'{v}' is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)");
        }
    }

    private void ImageRef(string? reference, string path)
    {
        if (reference is not null && Has(path) && !Syntax.IsImageReference(reference))
            Add(path, $"'{reference}' is not an image reference with a tag or digest, such as appliance/os-debian:bookworm");
    }

    /// <summary>The field was given and bound without error.</summary>
    private bool Has(string path) => bound.Contains(path);

    /// <summary>The field was written in the profile (perhaps with a bad value).</summary>
    private bool Present(string path) => marks.ContainsKey(path);

    /// <summary>The field holds a usable value: its default, or a value that bound without error.</summary>
    private bool Ok(string path) => !Present(path) || Has(path);

    /// <summary>Adds a problem at <paramref name="path"/>, or at its nearest bound ancestor.</summary>
    private void Add(string path, string message)
    {
        var p = path;
        while (!marks.ContainsKey(p) && p.Length > 0)
        {
            var cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
            p = cut < 0 ? "" : p[..cut];
        }
        var mark = marks.TryGetValue(p, out var m) ? m : default;
        problems.Add(ProfileProblem.At(mark, path, message));
    }
}
