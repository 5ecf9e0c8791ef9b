// RFC 1035 §4.1: writes a response message, compressing names (§4.1.4) and cutting to the transport's size with TC.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>Builds one response in a growing buffer; sections are written in order.</summary>
internal sealed class DnsMessageWriter
{
    byte[] _buffer = new byte[512];
    int _length = DnsHeader.Size;
    readonly Dictionary<string, int> _names = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Bytes written so far.</summary>
    public int Length => _length;

    /// <summary>Copies the question section as the client sent it.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>Writes one record (class IN).</summary>
    public void Write(DnsRecord record)
    {
        WriteName(record.Name, compress: true);
        Reserve(10);
        var fixedPart = _buffer.AsSpan(_length);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart, (ushort)record.Type);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart[2..], 1);
        BinaryPrimitives.WriteUInt32BigEndian(fixedPart[4..], record.Ttl);
        int lengthAt = _length + 8;
        _length += 10;
        int start = _length;
        switch (record.Data)
        {
            case DnsRecordData.Address a:
                var bytes = a.Value.GetAddressBytes();
                WriteRaw(bytes);
                break;
            case DnsRecordData.DomainName t:
                WriteName(t.Name, compress: true);
                break;
            case DnsRecordData.Service s:
                WriteUInt16(s.Priority);
                WriteUInt16(s.Weight);
                WriteUInt16(s.Port);
                WriteName(s.Target, compress: false);
                break;
            case DnsRecordData.StartOfAuthority soa:
                WriteName(soa.PrimaryServer, compress: true);
                WriteName(soa.Mailbox, compress: true);
                foreach (var v in new[] { soa.Serial, soa.Refresh, soa.Retry, soa.Expire, soa.Minimum }) WriteUInt32(v);
                break;
        }
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(lengthAt), (ushort)(_length - start));
    }

    /// <summary>Writes an EDNS(0) OPT pseudo-record (RFC 6891 §6.1.2) announcing <paramref name="udpSize"/>.</summary>
    public void WriteOpt(ushort udpSize)
    {
        Reserve(11);
        var span = _buffer.AsSpan(_length);
        span[0] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)DnsType.OPT);
        BinaryPrimitives.WriteUInt16BigEndian(span[3..], udpSize);
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(span[9..], 0);
        _length += 11;
    }

    /// <summary>Writes <paramref name="header"/> at the start and returns the message.</summary>
    public byte[] Finish(DnsHeader header)
    {
        header.WriteTo(_buffer);
        return _buffer[.._length];
    }

    void WriteName(string name, bool compress)
    {
        var labels = DnsName.Labels(name);
        for (int i = 0; i < labels.Length; i++)
        {
            var suffix = string.Join('.', labels, i, labels.Length - i);
            if (compress && _names.TryGetValue(suffix, out var at))
            {
                WriteUInt16((ushort)(0xC000 | at));
                return;
            }
            // Pointers hold 14 bits: names past 16 KiB are written in full.
            if (_length < 0x4000) _names.TryAdd(suffix, _length);
            var label = Encoding.ASCII.GetBytes(labels[i]);
            Reserve(1 + label.Length);
            _buffer[_length++] = (byte)label.Length;
            WriteRaw(label);
        }
        Reserve(1);
        _buffer[_length++] = 0;
    }

    void WriteUInt16(ushort value)
    {
        Reserve(2);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_length), value);
        _length += 2;
    }

    void WriteUInt32(uint value)
    {
        Reserve(4);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    void Reserve(int more)
    {
        if (_length + more > ushort.MaxValue) throw new InvalidOperationException("a DNS message cannot exceed 65535 bytes");
        if (_length + more > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
    }
}
